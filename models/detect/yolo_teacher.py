"""The float person teacher: Yolo-Fastest 1.1 (darknet format, ../shared/data/
teachers) through OpenCV DNN's darknet importer. Shared by the data
preparation of the object detector (models/detect) and of the person-presence
model (models/person), which differ only in input size and in which boxes
they keep."""
import os

import cv2
import numpy as np


class YoloTeacher:
    def __init__(self, data, name="yolo-fastest-1.1"):
        t = os.path.join(data, "teachers")
        self.net = cv2.dnn.readNetFromDarknet(os.path.join(t, name + ".cfg"), os.path.join(t, name + ".weights"))
        self.outs = self.net.getUnconnectedOutLayersNames()

    def person_boxes(self, bgr, size, score, nms):
        """Person (COCO class 0) boxes [x0, y0, x1, y1, score] in the image's
        pixels, the whole image resized to size = (width, height): those
        scoring >= score, after NMS at `nms`, clipped to the image, in NMS
        order."""
        h, w = bgr.shape[:2]
        blob = cv2.dnn.blobFromImage(bgr, 1 / 255.0, size, swapRB=True, crop=False)
        self.net.setInput(blob)
        o = np.concatenate(self.net.forward(self.outs))
        s = o[:, 5]  # OpenCV's region layer: objectness x class probability
        keep = s >= score
        o, s = o[keep], s[keep]
        xywh = [[float((cx - bw / 2) * w), float((cy - bh / 2) * h), float(bw * w), float(bh * h)]
                for cx, cy, bw, bh in o[:, :4]]
        idx = cv2.dnn.NMSBoxes(xywh, s.tolist(), score, nms) if len(xywh) else []
        boxes = []
        for i in np.array(idx).reshape(-1):
            x, y, bw, bh = xywh[i]
            boxes.append([max(0.0, x), max(0.0, y), min(float(w), x + bw), min(float(h), y + bh), float(s[i])])
        return boxes
