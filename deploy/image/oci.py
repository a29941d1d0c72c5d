#!/usr/bin/env python3
"""Write a one-layer OCI image archive from files on this machine, without Docker.

    oci.py --out image.tar --ref ghcr.io/topicform/topicform:0.1.0 \
        --file SRC:/usr/local/bin/topicform:0755 --dir /tmp:1777 \
        --symlink /lib:usr/lib --user 10001:10001 --workdir /tmp \
        --env NO_COLOR=1 --entrypoint /usr/local/bin/topicform --cmd --help

The archive is an OCI image layout (oci-layout, index.json, blobs/sha256/...)
in a tar, which `ctr images import`, podman, skopeo (oci-archive:) and crane
read. Reproducible: entries sorted, every timestamp SOURCE_DATE_EPOCH (default
0), owner root, gzip without a name or time, JSON with sorted keys. So the
same inputs give the same image digest on every machine.

Python's standard library only: a layer is a tar, the rest is JSON and sha256.
"""
import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="image archive to write")
    p.add_argument("--ref", required=True, help="image reference, e.g. ghcr.io/x/y:1.0")
    p.add_argument("--file", action="append", default=[], metavar="SRC:DEST[:MODE]")
    p.add_argument("--text", action="append", default=[], metavar="DEST:MODE:CONTENT",
                   help="a file with this content (\\n for newlines)")
    p.add_argument("--dir", action="append", default=[], metavar="DEST[:MODE]")
    p.add_argument("--symlink", action="append", default=[], metavar="DEST:TARGET")
    p.add_argument("--user", default="")
    p.add_argument("--workdir", default="")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--entrypoint", action="append", default=[])
    p.add_argument("--cmd", action="append", default=[])
    p.add_argument("--label", action="append", default=[], metavar="NAME=VALUE")
    return p.parse_args(argv)


def tar_info(path, kind, mode):
    info = tarfile.TarInfo(path.lstrip("/"))
    info.type = kind
    info.mode = mode
    info.mtime = EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def layer_entries(args):
    """Every entry as (path, TarInfo, bytes or None), parent directories included."""
    entries = {}

    def add_parents(path):
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            entries.setdefault(d, (tar_info(d, tarfile.DIRTYPE, 0o755), None))

    for spec in args.dir:
        dest, _, mode = spec.partition(":")
        add_parents(dest)
        entries[dest] = (tar_info(dest, tarfile.DIRTYPE, int(mode or "755", 8)), None)
    for spec in args.file:
        src, dest, *mode = spec.split(":")
        with open(src, "rb") as f:  # follows symlinks: the layer holds the real bytes
            data = f.read()
        add_parents(dest)
        info = tar_info(dest, tarfile.REGTYPE, int(mode[0] if mode else "644", 8))
        info.size = len(data)
        entries[dest] = (info, data)
    for spec in args.text:
        dest, mode, content = spec.split(":", 2)
        data = content.replace("\\n", "\n").encode()
        add_parents(dest)
        info = tar_info(dest, tarfile.REGTYPE, int(mode, 8))
        info.size = len(data)
        entries[dest] = (info, data)
    for spec in args.symlink:
        dest, target = spec.split(":", 1)
        add_parents(dest)
        info = tar_info(dest, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        entries[dest] = (info, None)
    return [entries[k] for k in sorted(entries)]


def build_layer(args):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in layer_entries(args):
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    diff_id = hashlib.sha256(raw.getvalue()).hexdigest()
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue(), diff_id


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def blob(data, media_type, blobs, annotations=None):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    desc = {"mediaType": media_type, "digest": digest, "size": len(data)}
    if annotations:
        desc["annotations"] = annotations
    return desc


def main(argv):
    args = parse_args(argv)
    blobs = {}
    layer, diff_id = build_layer(args)
    created = datetime.datetime.fromtimestamp(EPOCH, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = {"Env": args.env or None, "Entrypoint": args.entrypoint or None, "Cmd": args.cmd or None,
              "User": args.user or None, "WorkingDir": args.workdir or None,
              "Labels": dict(l.split("=", 1) for l in args.label) or None}
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {k: v for k, v in config.items() if v is not None},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
        "history": [{"created": created, "created_by": "deploy/image/oci.py"}],
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": blob(canonical(image_config), "application/vnd.oci.image.config.v1+json", blobs),
        "layers": [blob(layer, "application/vnd.oci.image.layer.v1.tar+gzip", blobs)],
    }
    tag = args.ref.rsplit(":", 1)[1] if ":" in args.ref.rsplit("/", 1)[-1] else "latest"
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [blob(canonical(manifest), "application/vnd.oci.image.manifest.v1+json", blobs,
                           {"io.containerd.image.name": args.ref,
                            "org.opencontainers.image.ref.name": tag})],
    }
    files = {"oci-layout": canonical({"imageLayoutVersion": "1.0.0"}), "index.json": canonical(index)}
    files["blobs/"] = None
    files["blobs/sha256/"] = None
    for digest, data in blobs.items():
        files["blobs/sha256/" + digest.split(":", 1)[1]] = data
    tmp = args.out + ".tmp"
    with tarfile.open(tmp, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            data = files[name]
            if data is None:
                tar.addfile(tar_info(name.rstrip("/"), tarfile.DIRTYPE, 0o755))
            else:
                info = tar_info(name, tarfile.REGTYPE, 0o644)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, args.out)
    print(index["manifests"][0]["digest"])  # the image digest, as a registry would show it


if __name__ == "__main__":
    main(sys.argv[1:])
