#include "overlay.h"

#include <stdio.h>

#include <algorithm>
#include <opencv2/imgproc.hpp>

namespace bnn_vision {
namespace {

void Label(cv::Mat* image, const std::string& text, const Box& b, const cv::Scalar& color) {
  int baseline = 0;
  const cv::Size size = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, 0.45, 1, &baseline);
  const int x = std::max(0, int(b.x0)), y = std::max(size.height + 4, int(b.y0));
  cv::rectangle(*image, cv::Point(x, y - size.height - 4), cv::Point(x + size.width + 4, y), color, cv::FILLED);
  cv::putText(*image, text, cv::Point(x + 2, y - 3), cv::FONT_HERSHEY_SIMPLEX, 0.45, cv::Scalar(0, 0, 0), 1,
              cv::LINE_AA);
}

// The landmarks as small filled dots, the first point (the eye on the image's left) red so a
// viewer can tell the order.
void DrawLandmarks(cv::Mat* image, const Box& b, const cv::Scalar& color) {
  const int r = std::max(1, std::min(3, int((b.x1 - b.x0) / 30)));
  for (int k = 0; k < b.num_landmarks && k < BNN_MAX_LANDMARKS; ++k)
    cv::circle(*image, cv::Point(int(b.landmarks[k].x), int(b.landmarks[k].y)), r,
               k == 0 ? cv::Scalar(0, 0, 255) : color, cv::FILLED, cv::LINE_AA);
}

}  // namespace

cv::Scalar ClassColor(int label) {
  // Saturated, distinct per class, and never the face colours.
  static const cv::Scalar kColors[] = {{255, 128, 0}, {0, 200, 255}, {255, 0, 255}, {255, 255, 0}, {128, 0, 255}};
  return kColors[size_t(label < 0 ? 0 : label) % (sizeof kColors / sizeof kColors[0])];
}

void DrawObjects(cv::Mat* image, const std::vector<Box>& boxes, const DetectorRunner& detector) {
  for (const Box& b : boxes) {
    const cv::Scalar color = ClassColor(b.label);
    cv::rectangle(*image, cv::Point(int(b.x0), int(b.y0)), cv::Point(int(b.x1), int(b.y1)), color, 2);
    DrawLandmarks(image, b, color);
    char text[128];
    snprintf(text, sizeof text, "%s %.2f", detector.Label(b.label).c_str(), b.score);
    Label(image, text, b, color);
  }
}

void DrawFaces(cv::Mat* image, const std::vector<Box>& boxes, const std::vector<Match>& matches) {
  for (size_t i = 0; i < boxes.size(); ++i) {
    const Box& b = boxes[i];
    const bool known = i < matches.size() && matches[i].known;
    const cv::Scalar color = known ? kKnownFaceColor : kUnknownFaceColor;
    cv::rectangle(*image, cv::Point(int(b.x0), int(b.y0)), cv::Point(int(b.x1), int(b.y1)), color, 2);
    DrawLandmarks(image, b, color);
    char text[320];
    if (i < matches.size())
      snprintf(text, sizeof text, "%s %.2f", known ? matches[i].name.c_str() : "unknown", matches[i].similarity);
    else
      snprintf(text, sizeof text, "face %.2f", b.score);
    Label(image, text, b, color);
  }
}

void DrawPanel(cv::Mat* image, const std::vector<std::string>& lines) {
  const double scale = 0.5;
  const int line_h = 18;
  int width = 0;
  for (const std::string& l : lines) {
    int baseline = 0;
    width = std::max(width, cv::getTextSize(l, cv::FONT_HERSHEY_SIMPLEX, scale, 1, &baseline).width);
  }
  const cv::Rect panel = cv::Rect(0, 0, width + 12, line_h * int(lines.size()) + 8) &
                         cv::Rect(0, 0, image->cols, image->rows);
  cv::Mat roi = (*image)(panel);
  roi *= 0.25;  // darken, keep a hint of the frame behind
  for (size_t i = 0; i < lines.size(); ++i)
    cv::putText(*image, lines[i], cv::Point(6, line_h * int(i + 1)), cv::FONT_HERSHEY_SIMPLEX, scale,
                kPanelTextColor, 1, cv::LINE_AA);
}

}  // namespace bnn_vision
