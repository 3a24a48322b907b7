"""The audit trail. Importing the package installs its session and engine hooks
(``capture``, ``registry``), so every session of the process is audited."""

from relief_inventory.audit import capture as _capture  # noqa: F401
