// Drawing results onto frames (OpenCV): object boxes in one colour per
// class, faces green when recognised and red when unknown, and a panel of
// text lines (the demo's per-stage timings). The colours are part of the
// contract: the demo's screenshot test looks for them.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "detection.h"
#include "gallery.h"
#include "runners.h"

namespace bnn_vision {

// BGR.
cv::Scalar ClassColor(int label);
const cv::Scalar kKnownFaceColor(0, 255, 0);
const cv::Scalar kUnknownFaceColor(0, 0, 255);
const cv::Scalar kPanelTextColor(255, 255, 255);

void DrawObjects(cv::Mat* image, const std::vector<Box>& boxes, const DetectorRunner& detector);
void DrawFaces(cv::Mat* image, const std::vector<Box>& boxes, const std::vector<Match>& matches);
// Lines of text on a dark panel in the top-left corner.
void DrawPanel(cv::Mat* image, const std::vector<std::string>& lines);

}  // namespace bnn_vision
