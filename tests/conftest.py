"""Shared by every tier: the native stack's generated passwords, when there is a stack."""

from __future__ import annotations

import os

from deploy.native.layout import Layout, read_env_file

_secrets = Layout.from_env().secrets
if _secrets.exists():
    for _name, _value in read_env_file(_secrets).items():
        os.environ.setdefault(_name, _value)
