"""Sphinx's configuration of the course's website (python -m website.build): myst-nb renders the lesson
notebooks that the build has already run, with their outputs; nothing runs again here."""

project = "IMDB sentiment analysis with Keras 3"
author = "the course's contributors"
extensions = ["myst_nb"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_generated", "results", "downloads"]  # included or offered by the pages
nb_execution_mode = "off"  # the build ran each lesson in a kernel, or filled its long cells from the records
nb_code_prompt_show = "Show the solution"  # the label of a folded cell: only the exercises' reference code is folded
nb_code_prompt_hide = "Hide the solution"
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # lesson notebooks start at "#" and may skip levels in their exercises
html_theme = "sphinx_book_theme"
html_title = project
html_favicon = "favicon.svg"
html_context = {"default_mode": "light"}  # the theme logs an error in the console when none is set
html_theme_options = {"show_toc_level": 2, "use_download_button": False}
html_last_updated_fmt = "%Y-%m-%d"
