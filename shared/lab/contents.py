"""The lessons as JupyterLab opens them: jupytext's contents manager, which also gives a notebook read from a
``.py`` file the language details its kernel will report, so that opening a lesson does not mark it modified.

A lesson's header names its kernel but not the kernel's ``language_info`` (its Python version differs from one
machine to the next). JupyterLab writes what the kernel reports there as soon as the kernel starts, and so marked
every lesson modified the moment it opened. Given here when the notebook is read, it is what the kernel then
reports, and nothing changes; jupytext leaves it out of the ``.py`` file when the lesson is saved.
"""

from __future__ import annotations

from ipykernel.ipkernel import IPythonKernel
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from jupytext.async_contentsmanager import build_async_jupytext_contents_manager_class

LANGUAGE_INFO = IPythonKernel.language_info  # what the course's kernel (ipykernel, this Python) reports


class LessonContentsManager(build_async_jupytext_contents_manager_class(AsyncLargeFileManager)):
    async def get(self, path, content=True, type=None, format=None, **kwargs):  # noqa: A002 - the server's names
        model = await super().get(path, content=content, type=type, format=format, **kwargs)
        if content and model["type"] == "notebook" and path.endswith(".py"):
            model["content"]["metadata"].setdefault("language_info", dict(LANGUAGE_INFO))
        return model
