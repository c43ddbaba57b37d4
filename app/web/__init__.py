"""The web page: the Gradio page and its handlers (page.py), its texts in English and Chinese (labels.py), turning
results into safe Markdown (present.py), and starting the server once per data dir (server.py)."""
