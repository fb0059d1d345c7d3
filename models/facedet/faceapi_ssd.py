"""face-api's SSD MobileNet v1 face detector (npm @vladmandic/face-api 1.7.15, MIT; trained on
WIDER FACE), run in PyTorch from its TensorFlow.js weights, as face-api's src/ssdMobilenetv1 does:
the image padded to a square at the bottom and right, resized to 512 x 512, scaled to [-1, 1];
MobileNet v1 (TensorFlow 'same' padding, ReLU6), six box predictors over 5118 stored priors,
boxes decoded with scales 10 / 5, sigmoid scores, NMS at IoU 0.5 (face-api's default minimum
confidence is 0.5).

The weights are not in the repository: fetch them once with
    (mkdir -p ~/.cache/bnn-faceapi && cd ~/.cache/bnn-faceapi && npm pack @vladmandic/face-api@1.7.15 \\
     && tar xzf vladmandic-face-api-1.7.15.tgz)
Detections are (x0, y0, x1, y1, score) in the pixels of the BGR image passed in.
"""
import json
import os

import cv2
import numpy as np

DEFAULT_DIR = os.path.expanduser("~/.cache/bnn-faceapi/package/model")


def load_weights(model_dir, name="ssd_mobilenetv1_model"):
    """{tensor name: numpy array} from a TF.js manifest and its shards (uint8-quantised or float32)."""
    with open(os.path.join(model_dir, f"{name}-weights_manifest.json")) as f:
        manifest = json.load(f)
    out = {}
    for group in manifest:
        data = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        pos = 0
        for w in group["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                raw = np.frombuffer(data, np.uint8, n, pos).astype(np.float64)
                pos += n
                v = raw * q["scale"] + q["min"]
            else:
                v = np.frombuffer(data, np.float32 if w["dtype"] == "float32" else np.int32, n, pos)
                pos += 4 * n
            out[w["name"]] = np.asarray(v, np.float32).reshape(w["shape"])
    return out


class FaceApiSsd:
    def __init__(self, model_dir=DEFAULT_DIR):
        import torch
        self.torch = torch
        w = load_weights(model_dir)
        t = lambda a: torch.from_numpy(np.array(a))  # noqa: E731  (a writable copy)
        self.w = {k: t(v) for k, v in w.items()}
        self.priors = w["Output/extra_dim"].reshape(-1, 4)   # ymin, xmin, ymax, xmax in [0, 1]

    def _conv(self, x, filters, stride, depthwise=False):
        """TensorFlow 'same' convolution: filters H x W x in x out (x multiplier when depthwise)."""
        F = self.torch.nn.functional
        kh, kw = filters.shape[:2]
        ih, iw = x.shape[2:]
        ph = max((-(-ih // stride) - 1) * stride + kh - ih, 0)
        pw = max((-(-iw // stride) - 1) * stride + kw - iw, 0)
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        if depthwise:
            k = filters.permute(2, 3, 0, 1).reshape(-1, 1, kh, kw)
            return F.conv2d(x, k, stride=stride, groups=x.shape[1])
        return F.conv2d(x, filters.permute(3, 2, 0, 1), stride=stride)

    def _pointwise(self, x, prefix, idx, stride):
        w = self.w
        x = self._conv(x, w[f"{prefix}/Conv2d_{idx}_pointwise/weights"], stride)
        return (x + w[f"{prefix}/Conv2d_{idx}_pointwise/convolution_bn_offset"].view(1, -1, 1, 1)).clamp(0, 6)

    def _depthwise(self, x, idx, stride):
        w, p = self.w, f"MobilenetV1/Conv2d_{idx}_depthwise"
        x = self._conv(x, w[f"{p}/depthwise_weights"], stride, depthwise=True)
        v = lambda n: w[f"{p}/BatchNorm/{n}"].view(1, -1, 1, 1)  # noqa: E731
        x = (x - v("moving_mean")) / self.torch.sqrt(v("moving_variance") + 0.0010000000474974513) * v("gamma") + v("beta")
        return x.clamp(0, 6)

    def _predict(self, x, idx):
        w, p = self.w, f"Prediction/BoxPredictor_{idx}"
        box = self._conv(x, w[f"{p}/BoxEncodingPredictor/weights"], 1) + w[f"{p}/BoxEncodingPredictor/biases"].view(1, -1, 1, 1)
        cls = self._conv(x, w[f"{p}/ClassPredictor/weights"], 1) + w[f"{p}/ClassPredictor/biases"].view(1, -1, 1, 1)
        return box.permute(0, 2, 3, 1).reshape(-1, 4), cls.permute(0, 2, 3, 1).reshape(-1, 3)

    def raw(self, bgr):
        """(boxes ymin, xmin, ymax, xmax in [0, 1] of the padded square, scores) for every prior."""
        torch = self.torch
        h, w = bgr.shape[:2]
        side = max(h, w)
        sq = np.zeros((side, side, 3), np.uint8)
        sq[:h, :w] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        x = cv2.resize(sq, (512, 512), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 127.5 - 1
        x = torch.from_numpy(x).permute(2, 0, 1)[None]
        with torch.no_grad():
            x = self._pointwise(x, "MobilenetV1", 0, 2)
            for i in range(1, 14):
                x = self._depthwise(x, i, 2 if i in (2, 4, 6, 12) else 1)
                x = self._pointwise(x, "MobilenetV1", i, 1)
                if i == 11:
                    conv11 = x
            c = [self._pointwise(x, "Prediction", 0, 1)]
            for i in range(1, 8):
                c.append(self._pointwise(c[-1], "Prediction", i, 2 if i % 2 else 1))
            preds = [self._predict(f, i) for i, f in enumerate([conv11, x, c[1], c[3], c[5], c[7]])]
        enc = torch.cat([p[0] for p in preds]).numpy()
        cls = torch.cat([p[1] for p in preds]).numpy()
        pr = self.priors
        ph, pw = pr[:, 2] - pr[:, 0], pr[:, 3] - pr[:, 1]
        pcy, pcx = pr[:, 0] + ph / 2, pr[:, 1] + pw / 2
        cy, cx = enc[:, 0] / 10 * ph + pcy, enc[:, 1] / 10 * pw + pcx
        bh, bw = np.exp(enc[:, 2] / 5) * ph, np.exp(enc[:, 3] / 5) * pw
        boxes = np.stack([cy - bh / 2, cx - bw / 2, cy + bh / 2, cx + bw / 2], 1)
        return boxes, 1 / (1 + np.exp(-cls[:, 1])), side

    def __call__(self, bgr, score=0.5, iou=0.5, max_results=100):
        boxes, scores, side = self.raw(bgr)
        keep = np.nonzero(scores >= score)[0]
        kept = scores[keep]
        rects = [[float(boxes[i, 1] * side), float(boxes[i, 0] * side),
                  float((boxes[i, 3] - boxes[i, 1]) * side), float((boxes[i, 2] - boxes[i, 0]) * side)] for i in keep]
        idx = np.array(cv2.dnn.NMSBoxes(rects, kept.tolist(), score, iou, top_k=max_results)).reshape(-1)
        h, w = bgr.shape[:2]
        return [(max(0.0, rects[i][0]), max(0.0, rects[i][1]), min(w, rects[i][0] + rects[i][2]),
                 min(h, rects[i][1] + rects[i][3]), float(kept[i])) for i in idx]
