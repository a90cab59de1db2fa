"""The flat command table: which plugin module owns which namespace.

Adding a plugin is one line here. Modules are imported only when their namespace is called,
so state-only commands never pay for the docker client, jinja2 or dulwich.
"""

PLUGINS = {
    "apps": "pipeline.apps",
    "config": "pipeline.config",
    "storage": "pipeline.storage",
    "docker-options": "pipeline.docker_options",
    "git": "pipeline.git",
    "ssh-keys": "pipeline.ssh_keys",
    "ps": "pipeline.ps",
    "run": "pipeline.run",
    "logs": "pipeline.ps",
    "checks": "pipeline.checks",
    "domains": "pipeline.domains",
    "proxy": "pipeline.proxy",
    "plugin": "pipeline.plugins",
}

# Commands without a namespace, as SSH and git hooks deliver them.
BARE_COMMANDS = {
    "git-receive-pack": "pipeline.git",
    "git-upload-pack": "pipeline.git",
    "git-hook": "pipeline.git",
    "run": "pipeline.run",
    "logs": "pipeline.ps",
}

# Single commands owned by a module other than their namespace's.
COMMAND_OWNERS = {
    "logs:deploy": "pipeline.git",
}

# A namespace served by another plugin's module says what it is itself.
DESCRIPTIONS = {
    "logs": "Show the app's process logs and its kept deploy logs",
}
