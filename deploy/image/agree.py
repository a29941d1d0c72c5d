#!/usr/bin/env python3
"""Check that the Dockerfile and an image archive of deploy/image/build.sh
describe the same image: user and group, binary path, entrypoint, command,
working directory and environment.

    agree.py Dockerfile target/image/topicform-0.1.0.tar

Exit 0 when they agree; otherwise each difference on a line, exit 1.
"""
import gzip
import io
import json
import re
import shlex
import sys
import tarfile


# What a base image contributes to the recorded config: Debian's images set
# only PATH (docker's default), which the final stage inherits.
BASE_ENV = {"debian": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}


def dockerfile_facts(path):
    """The final stage's configuration, as `docker build` would record it."""
    lines, buf = [], ""
    for raw in open(path):
        line = raw.rstrip("\n")
        if line.lstrip().startswith("#") and not buf:
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        lines.append((buf + line).strip())
        buf = ""
    stages = [i for i, l in enumerate(lines) if l.upper().startswith("FROM ")]
    final = lines[stages[-1]:]
    facts = {"env": [], "binary": None, "uid": None, "gid": None}
    base = final[0].split()[1].split(":")[0].split("/")[-1]
    if base not in BASE_ENV:
        raise SystemExit(f"agree.py knows the inherited environment of no base image {base!r}; add it to BASE_ENV")
    facts["env"] += BASE_ENV[base]
    for line in final:
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "USER":
            facts["user"] = rest.strip()
        elif word == "WORKDIR":
            facts["workdir"] = rest.strip()
        elif word == "ENV":
            facts["env"] += [kv for kv in shlex.split(rest)]
        elif word == "ENTRYPOINT":
            facts["entrypoint"] = json.loads(rest)
        elif word == "CMD":
            facts["cmd"] = json.loads(rest)
        elif word == "COPY":
            facts["binary"] = shlex.split(rest)[-1]
        elif word == "RUN":
            for part in rest.split("&&"):
                m = re.search(r"useradd\b.*--uid (\d+) --gid (\d+)", part)
                if m:
                    facts["uid"], facts["gid"] = m.group(1), m.group(2)
                    facts["username"] = part.split()[-1]
    return facts


def image_facts(path):
    with tarfile.open(path) as archive:
        index = json.load(archive.extractfile("index.json"))
        manifest = json.load(archive.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
        config = json.load(archive.extractfile("blobs/sha256/" + manifest["config"]["digest"][7:]))["config"]
        files = {}
        for layer in manifest["layers"]:
            data = gzip.decompress(archive.extractfile("blobs/sha256/" + layer["digest"][7:]).read())
            with tarfile.open(fileobj=io.BytesIO(data)) as rootfs:
                for member in rootfs.getmembers():
                    content = rootfs.extractfile(member).read() if member.isfile() and member.name.startswith("etc/") else None
                    files["/" + member.name] = (member, content)
    return config, files


def main(dockerfile, archive):
    want = dockerfile_facts(dockerfile)
    config, files = image_facts(archive)
    problems = []

    def same(what, dockerfile_value, image_value):
        if dockerfile_value != image_value:
            problems.append(f"{what}: Dockerfile {dockerfile_value!r}, image {image_value!r}")

    same("USER", want.get("user"), config.get("User"))
    same("WORKDIR", want.get("workdir"), config.get("WorkingDir"))
    same("ENV", sorted(want["env"]), sorted(config.get("Env") or []))
    same("ENTRYPOINT", want.get("entrypoint"), config.get("Entrypoint"))
    same("CMD", want.get("cmd"), config.get("Cmd"))
    binary = files.get(want["binary"])
    if not binary or not binary[0].isfile() or not binary[0].mode & 0o111:
        problems.append(f"the Dockerfile copies the binary to {want['binary']}; the image has no executable there")
    passwd = (files.get("/etc/passwd") or (None, b""))[1].decode()
    entry = f"{want.get('username')}:x:{want['uid']}:{want['gid']}:"
    if not any(line.startswith(entry) for line in passwd.splitlines()):
        problems.append(f"the Dockerfile's user is {entry}...; the image's /etc/passwd has {passwd!r}")
    if want["uid"] and want.get("user") != f"{want['uid']}:{want['gid']}":
        problems.append(f"USER {want.get('user')} is not the useradd uid:gid {want['uid']}:{want['gid']}")
    workdir = files.get(want.get("workdir", ""))
    if not workdir or not workdir[0].isdir():
        problems.append(f"WORKDIR {want.get('workdir')} is not a directory in the image")
    for p in problems:
        print(p)
    if not problems:
        print(f"agree: user {want['user']}, {want['binary']}, entrypoint {want['entrypoint']}, workdir {want['workdir']}, env {want['env']}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
