"""Turn checkpoints into the ONNX models Triton serves and publish them as model versions.

`python -m export ensure` publishes `detect` and `plates` (YOLO + NMS, `export.yolo`,
`export.nms`; standard class names in labels.json, `export.labels`) and `faces` (CenterFace,
`export.centerface`) wherever no version exists yet (`export.repository`), building each in
staging and renaming it into place only after a smoke test (`export.publish`, `export.smoke`).
Errors derive from `export.errors.ExportError`.
"""
