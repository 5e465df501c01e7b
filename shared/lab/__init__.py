"""JupyterLab as ``./course lab`` runs it: the lab's settings (``labconfig/``, on JUPYTER_CONFIG_PATH) and the
contents manager that opens the lessons (``contents.py``)."""
