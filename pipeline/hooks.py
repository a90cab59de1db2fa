"""Hook points: named places in the flow where plugins add behaviour.

Each hook point is named once here, with its arguments, its caller and what an answer means.
Built-in plugins answer with Python values (a kwargs dict for `docker-args-*`, nothing for the
others) that the core merges; executable plugins in `$DOKKU_LIB_ROOT/plugins/enabled/<plugin>/`
answer the same points (see `pipeline.plugins`): they get the arguments below as argv, in this
order; a `docker-args-*` one prints docker options (validated like `docker-options:add`), a
`pre-*` one exits non-zero to stop (its stderr is the message), any other one's failure is a
warning.

| hook point          | arguments                          | caller                 | answer                                 |
|---------------------|------------------------------------|------------------------|----------------------------------------|
| pre-build           | app, builder                       | build.build            | raise (or exit non-zero) to stop       |
| docker-args-build   | app, builder                       | build (buildpack/df)   | container/build kwargs to merge        |
| post-build          | app, image                         | build.build            | nothing                                |
| pre-deploy          | app, image                         | deploy.release         | raise (or exit non-zero) to stop       |
| docker-args-deploy  | app, image, process_type, index    | deploy.container_spec  | container kwargs to merge              |
| post-deploy         | app, image                         | deploy.release         | nothing                                |
| docker-args-run     | app, image                         | run.run_spec           | container kwargs to merge              |
| pre-delete          | app                                | apps:destroy           | raise (or exit non-zero) to stop       |
| post-delete         | app                                | apps:destroy           | nothing (state is already gone)        |
"""
import importlib

HOOK_POINTS = {
    "pre-build": ("app", "builder"),
    "docker-args-build": ("app", "builder"),
    "post-build": ("app", "image"),
    "pre-deploy": ("app", "image"),
    "docker-args-deploy": ("app", "image", "process_type", "index"),
    "post-deploy": ("app", "image"),
    "docker-args-run": ("app", "image"),
    "pre-delete": ("app",),
    "post-delete": ("app",),
}

# Built-in answers, in call order: hook point -> ["module:function", ...].
ANSWERS = {
    "docker-args-build": ["pipeline.docker_options:build_args"],
    "docker-args-deploy": ["pipeline.storage:deploy_args", "pipeline.docker_options:deploy_args"],
    "docker-args-run": ["pipeline.storage:run_args", "pipeline.docker_options:run_args"],
    "pre-delete": ["pipeline.ps:remove_app_containers", "pipeline.proxy:remove_app"],
    "post-delete": ["pipeline.deploy_log:remove_app"],
}


def _resolve(target: str):
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def fire(point: str, **kwargs) -> list:
    """Call every answer to `point` (built-ins, then enabled executable plugins) and return
    their answers in order. Arguments must be exactly the point's documented ones."""
    if point not in HOOK_POINTS:
        raise ValueError(f"unknown hook point {point!r}: one of {', '.join(HOOK_POINTS)}")
    expected = HOOK_POINTS[point]
    if set(kwargs) != set(expected):
        raise TypeError(f"hook {point} takes {expected}, got {tuple(kwargs)}")
    answers = []
    for target in ANSWERS.get(point, []):
        answers.append(_resolve(target)(**kwargs))
    from pipeline import plugins
    answers.extend(plugins.fire_executables(point, kwargs))
    return answers
