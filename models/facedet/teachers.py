"""Float face-detector teachers (UltraFace RFB-320, YuNet n 320) run through cv2.dnn.

Both return a list of (x0, y0, x1, y1, score) in the pixel coordinates of the
BGR image passed in; YuNet's tuples go on with its five landmarks (x, y pairs:
the right eye, the left eye, the nose tip, the right and the left mouth corner,
"right" being the person's right, so the first eye is the one on the image's
left). OpenCV 4.6's cv2.FaceDetectorYN cannot load the yunet_n_320_320.onnx release (new multi-stride output layout: cls/obj/bbox/kps
per stride 8/16/32), so YuNet is decoded here by hand.
"""
import cv2
import numpy as np

TEACHERS = "../shared/data/teachers"


def _nms(boxes, iou):
    if not boxes:
        return []
    b = np.array(boxes, np.float32)
    idx = cv2.dnn.NMSBoxes([[float(x0), float(y0), float(x1 - x0), float(y1 - y0)] for x0, y0, x1, y1 in b[:, :4]],
                           b[:, 4].tolist(), 0.0, iou)
    return [tuple(float(v) for v in b[i]) for i in np.array(idx).flatten()]


class UltraFace:
    def __init__(self, path=f"{TEACHERS}/version-RFB-320.onnx"):
        self.net = cv2.dnn.readNetFromONNX(path)

    def __call__(self, bgr, score=0.7, iou=0.3):
        h, w = bgr.shape[:2]
        x = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (320, 240)).astype(np.float32)
        self.net.setInput(((x - 127.0) / 128.0).transpose(2, 0, 1)[None])
        scores, boxes = self.net.forward(["scores", "boxes"])
        s = scores[0, :, 1]
        keep = s > score
        b = boxes[0][keep] * np.array([w, h, w, h], np.float32)
        return _nms([(*bb, ss) for bb, ss in zip(b, s[keep])], iou)


class YuNet:
    def __init__(self, path=f"{TEACHERS}/yunet_n_320_320.onnx"):
        self.net = cv2.dnn.readNetFromONNX(path)

    def __call__(self, bgr, score=0.6, iou=0.3):
        h, w = bgr.shape[:2]
        x = cv2.resize(bgr, (320, 320)).astype(np.float32)  # BGR, 0..255, no normalisation
        self.net.setInput(x.transpose(2, 0, 1)[None])
        out = dict(zip(self.net.getUnconnectedOutLayersNames(), self.net.forward(self.net.getUnconnectedOutLayersNames())))
        found = []
        for stride in (8, 16, 32):
            n = 320 // stride
            cls, obj, bb = out[f"cls_{stride}"][0, :, 0], out[f"obj_{stride}"][0, :, 0], out[f"bbox_{stride}"][0]
            kps = out[f"kps_{stride}"][0]
            s = np.sqrt(np.clip(cls, 0, 1) * np.clip(obj, 0, 1))
            for i in np.nonzero(s > score)[0]:
                r, c = divmod(int(i), n)
                cx, cy = (c + bb[i, 0]) * stride, (r + bb[i, 1]) * stride
                bw, bh = np.exp(bb[i, 2]) * stride, np.exp(bb[i, 3]) * stride
                k = kps[i].reshape(5, 2)
                marks = np.stack([(c + k[:, 0]) * stride * w / 320, (r + k[:, 1]) * stride * h / 320], 1)
                found.append(((cx - bw / 2) * w / 320, (cy - bh / 2) * h / 320,
                              (cx + bw / 2) * w / 320, (cy + bh / 2) * h / 320, float(s[i]),
                              *marks.reshape(-1).tolist()))
        return _nms(found, iou)
