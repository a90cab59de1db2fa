"""The app's config reaches the buildpack build, and is not baked into the image: a later
config:unset must remove it from the app's processes."""
from tests.e2e.conftest import docker


def test_config_reaches_the_build_but_not_the_image(platform):
    app = platform.new_app("cfg")
    repo = platform.repo("stdlib-web")
    # pip expands ${VAR} in requirements files: without EXTRA_REQS in the build's environment
    # the compile fails ("Could not open requirements file").
    repo.write("requirements.txt", "-r ${EXTRA_REQS}\n")
    repo.write("empty-requirements.txt", "# nothing\n")
    repo.commit("requirements from config")
    platform.ok("apps:create", app)
    platform.ok("config:set", "--no-restart", app, "EXTRA_REQS=/app/empty-requirements.txt",
                "SECRET_TOKEN=s3cr3t")
    platform.pushed(app, repo)

    image = platform.web(app)["Image"]
    env = platform.env_of(platform.web(app))
    assert env.get("SECRET_TOKEN") == "s3cr3t"          # the process gets it from the config
    image_env = docker("image", "inspect", "--format", "{{json .Config.Env}}", image).out
    assert "SECRET_TOKEN" not in image_env
    assert "EXTRA_REQS" not in image_env
    listing = docker("run", "--rm", "--entrypoint", "ls", image, "-A", "/env").out
    assert listing.strip() == ""

    platform.ok("config:unset", app, "SECRET_TOKEN")     # restarts the app
    assert "SECRET_TOKEN" not in platform.env_of(platform.web(app))
