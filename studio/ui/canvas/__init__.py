"""The node-editor canvas: scene, view, items and gestures."""
