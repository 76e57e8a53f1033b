"""nbgrader settings every user's server on the course's JupyterHub reads (jupyterhub_config.py puts this
folder on their JUPYTER_CONFIG_PATH): the shared exchange and the course, both named by the hub."""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.Exchange.root = os.environ["COURSE_EXCHANGE"]
c.CourseDirectory.course_id = os.environ["COURSE_ID"]
