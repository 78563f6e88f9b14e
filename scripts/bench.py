"""Monorepo benchmark: imds-iac against its own floor and against checkov, in one run.

Generates (or reuses) a synthetic monorepo — N Terraform modules with variables, locals, tfvars and
module calls, CloudFormation templates, EC2 API JSON and the non-IaC files a real repository holds
— then measures, on this machine and in one run:

- ``python -c pass`` (start-up);
- the single-core tree-sitter parse of every ``.tf`` byte of the tree (the parser's floor);
- ``imds-iac check`` on the tree: wall time and peak RSS;
- checkov with the two equivalent checks (CKV_AWS_79, CKV_AWS_341), when ``--checkov`` is given;

and prints the ratios. Usage::

    python scripts/bench.py --modules 2000 [--checkov /path/to/checkov] [--runs 3]
    python scripts/bench.py --tree DIR ...            # a real repository instead

The process pool (issue 12, item 19)::

    python scripts/bench.py --compare-jobs --sizes 100,200,500,1500 --runs 5
    python scripts/bench.py --profile-pool --modules 1500

``--compare-jobs`` runs ``IMDS_IAC_JOBS=1`` and the default (workers) interleaved on each tree
size and prints wall times and, from per-process CPU times sampled in ``/proc``, the pool's
critical path (the parent's CPU + the busiest worker's): what the wall time is on an idle
machine, and a ratio that stays meaningful when other work shares the cores.
``--profile-pool`` scans in this process and says where the pool's time goes: the parent's phases
(walk, reading and finding module calls, starting workers, waiting, taking results back,
checking), each worker's computing and pickling, and the bytes sent back.

Run it from a regular install (``pip install .``), not an editable one.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TOKENS = ['"required"', '"required"', '"required"', '"optional"', "var.http_tokens"]
HOPS = ["1", "1", "2", "var.hop_limit", "3"]


def _module(i: int, rng: random.Random) -> dict[str, str]:
    tokens, hop = rng.choice(TOKENS), rng.choice(HOPS)
    block = rng.random()
    if block < 0.1:
        options = ""
    elif block < 0.2:
        options = '\n  metadata_options {\n    http_endpoint = "enabled"\n  }\n'
    else:
        options = (
            "\n  metadata_options {\n"
            '    http_endpoint               = "enabled"\n'
            f"    http_tokens                 = {tokens}\n"
            f"    http_put_response_hop_limit = {hop}\n"
            "  }\n"
        )
    main = f"""locals {{
  name = "svc-{i}"
  tags = {{
    Service = local.name
    Owner   = "team-{i % 17}"
  }}
}}

resource "aws_security_group" "this" {{
  name   = local.name
  vpc_id = var.vpc_id

  ingress {{
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}
  tags = local.tags
}}

resource "aws_iam_role" "this" {{
  name               = "${{local.name}}-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}}

data "aws_iam_policy_document" "assume" {{
  statement {{
    actions = ["sts:AssumeRole"]
    principals {{
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }}
  }}
}}

resource "aws_launch_template" "this" {{
  name_prefix   = "${{local.name}}-"
  image_id      = var.ami_id
  instance_type = var.instance_type
{options}
  user_data = base64encode(<<-EOT
    #!/bin/bash
    TOKEN=$(curl -sX PUT http://169.254.169.254/latest/api/token \\
      -H "X-aws-ec2-metadata-token-ttl-seconds: 60")
    echo "$TOKEN" > /dev/null
  EOT
  )
  tags = local.tags
}}

resource "aws_autoscaling_group" "this" {{
  name                = local.name
  min_size            = 1
  max_size            = 3
  vpc_zone_identifier = var.subnet_ids

  launch_template {{
    id      = aws_launch_template.this.id
    version = "$Latest"
  }}
}}

resource "aws_s3_bucket" "logs" {{
  bucket = "${{local.name}}-logs"
  tags   = local.tags
}}
"""
    variables = f'''variable "vpc_id" {{
  type = string
}}

variable "subnet_ids" {{
  type    = list(string)
  default = []
}}

variable "ami_id" {{
  type    = string
  default = "ami-0c55b159cbfafe1f0"
}}

variable "instance_type" {{
  type    = string
  default = "t3.micro"
}}

variable "http_tokens" {{
  type    = string
  default = "{rng.choice(["required", "required", "optional"])}"
}}

variable "hop_limit" {{
  type    = number
  default = {rng.choice([1, 1, 2])}
}}
'''
    outputs = """output "launch_template_id" {
  value = aws_launch_template.this.id
}

output "security_group_id" {
  value = aws_security_group.this.id
}
"""
    versions = """terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}
"""
    return {
        "main.tf": main,
        "variables.tf": variables,
        "outputs.tf": outputs,
        "versions.tf": versions,
    }


def _root(j: int, children: list[int], rng: random.Random) -> dict[str, str]:
    calls = "".join(
        f'''
module "svc_{c}" {{
  source        = "../../modules/svc-{c}"
  vpc_id        = var.vpc_id
  subnet_ids    = var.subnet_ids
  instance_type = "{rng.choice(["t3.micro", "m6i.large"])}"
  hop_limit     = {rng.choice([1, 1, 1, 2, 4])}
}}
'''
        for c in children
    )
    return {
        "main.tf": f"""provider "aws" {{
  region = "eu-west-1"
}}

variable "vpc_id" {{
  type = string
}}

variable "subnet_ids" {{
  type = list(string)
}}
{calls}""",
        "terraform.tfvars": f'vpc_id     = "vpc-{j:08x}"\nsubnet_ids = ["subnet-a", "subnet-b"]\n',
    }


def _template(k: int, rng: random.Random) -> str:
    tokens = rng.choice(["required", "required", "optional"])
    return f"""AWSTemplateFormatVersion: "2010-09-09"
Description: service {k}
Parameters:
  Ami:
    Type: AWS::EC2::Image::Id
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {{Service: ec2.amazonaws.com}}
            Action: sts:AssumeRole
  Template:
    Type: AWS::EC2::LaunchTemplate
    Properties:
      LaunchTemplateData:
        ImageId: !Ref Ami
        InstanceType: t3.micro
        MetadataOptions:
          HttpTokens: {tokens}
          HttpPutResponseHopLimit: {rng.choice([1, 1, 2])}
  Bucket:
    Type: AWS::S3::Bucket
"""


def generate(root: Path, modules: int, seed: int = 7) -> None:
    """N modules (every fifth directory a root that calls four others), templates, noise."""
    rng = random.Random(seed)
    roots = modules // 5
    for i in range(modules - roots):
        for name, text in _module(i, rng).items():
            path = root / "modules" / f"svc-{i}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    children = list(range(modules - roots))
    for j in range(roots):
        called = children[j * 4 : j * 4 + 4] or children[:4]
        for name, text in _root(j, called, rng).items():
            path = root / "live" / f"env-{j}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for k in range(max(modules // 10, 1)):
        path = root / "stacks" / f"service-{k}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_template(k, rng))
    for k in range(max(modules // 20, 1)):
        path = root / "ec2" / f"launch-template-{k}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            '{\n  "ImageId": "ami-1",\n  "InstanceType": "t3.micro",\n'
            '  "MetadataOptions": {"HttpTokens": "optional", "HttpPutResponseHopLimit": 1}\n}\n'
        )
    for k in range(max(modules // 5, 1)):  # what else a monorepo holds
        app = root / "apps" / f"app-{k}"
        app.mkdir(parents=True, exist_ok=True)
        (app / "package.json").write_text(f'{{"name": "app-{k}", "version": "1.0.0"}}\n')
        (app / "deployment.yaml").write_text(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{k}\n"
        )
        (app / "main.py").write_text("print('hello')\n" * 20)
        (app / "README.md").write_text("# app\n" * 10)


def _tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in KB (Linux /proc)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def _timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in MB of the whole process tree — workers included —, exit
    code). Memory is sampled every 5 ms; on systems without /proc, the child's own peak."""
    wall, peak, code, _ = _timed_cpu(cmd, cwd)
    return wall, peak, code


def _tree_cpu(pid: int, cpu: dict[int, float]) -> None:
    """Record the CPU seconds (user + system, its own) of a process and its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            cpu[current] = (int(fields[11]) + int(fields[12])) / tick
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError, IndexError):
            continue


def _timed_cpu(
    cmd: list[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    interval: float = 0.005,
) -> tuple[float, int, int, dict[int, float]]:
    """As _timed, plus the CPU seconds of each process of the tree (the first is the parent),
    sampled every ``interval`` seconds from /proc (empty without /proc)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0
    cpu: dict[int, float] = {}
    has_proc = os.path.exists("/proc")
    while proc.poll() is None:
        if has_proc:
            peak = max(peak, _tree_rss(proc.pid))
            _tree_cpu(proc.pid, cpu)
        time.sleep(interval)
    wall = time.perf_counter() - start
    if not has_proc:
        import resource

        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, peak // 1024, proc.returncode, cpu


def _spin(n: int) -> int:
    x = 0
    for i in range(n):
        x += i * i
    return x


def parallel_ceiling(n: int = 5_000_000) -> float:
    """How much faster this machine runs two CPU-bound processes than one, right now (a pure
    Python loop: no I/O, no shared data): the most any 2-worker pool can gain here."""
    start = time.perf_counter()
    _spin(n)
    one = time.perf_counter() - start
    start = time.perf_counter()
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:
            _spin(n)
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.waitpid(pid, 0)
    return 2 * one / (time.perf_counter() - start)


def compare_jobs(args: argparse.Namespace) -> None:
    """IMDS_IAC_JOBS=1 against the default (workers), interleaved, on trees of several sizes."""
    if hasattr(os, "fork"):
        ceilings = [parallel_ceiling() for _ in range(3)]
        print(
            "two CPU-bound processes run "
            + ", ".join(f"{c:.2f}x" for c in ceilings)
            + " as fast as one on this machine now (the ceiling for two workers)"
        )
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(
        "| modules | dirs + data files | serial | workers | speed-up (wall) "
        "| serial CPU | workers: critical path | speed-up (CPU) | workers: all CPU |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size in (int(s) for s in args.sizes.split(",")):
        work = tempfile.mkdtemp(prefix="imds-bench-")
        try:
            tree = Path(work) / "monorepo"
            generate(tree, size)
            units = sum(1 for p in tree.rglob("*") if p.is_dir() and any(p.glob("*.tf")))
            units += sum(
                1 for p in tree.rglob("*") if p.suffix in (".json", ".yaml", ".yml") and p.is_file()
            )
            cmd = [args.imds_iac, "check", "-q", "--exit-zero", str(tree)]
            rows: dict[str, list[tuple[float, float, float]]] = {"1": [], args.jobs: []}
            for _ in range(args.runs):
                for jobs in ("1", args.jobs):
                    env = dict(os.environ)
                    env.pop("IMDS_IAC_JOBS", None)
                    if jobs:
                        env["IMDS_IAC_JOBS"] = jobs
                    # Sampled every 20 ms: the sampler must not compete with the workers.
                    wall, _, _, cpu = _timed_cpu(cmd, env=env, interval=0.02)
                    parent = next(iter(cpu.values()), 0.0)
                    workers = list(cpu.values())[1:]
                    path = parent + max(workers, default=0.0)
                    rows[jobs].append((wall, path, sum(cpu.values())))
            med = {
                jobs: tuple(statistics.median(r[i] for r in runs) for i in range(3))
                for jobs, runs in rows.items()
            }
            (s_wall, s_cpu, _), (p_wall, p_path, p_all) = med["1"], med[args.jobs]
            print(
                f"| {size:,} | {units:,} | {s_wall * 1000:.0f} ms | {p_wall * 1000:.0f} ms "
                f"| {s_wall / p_wall:.2f}x | {s_cpu:.2f} s | {p_path:.2f} s "
                f"| {s_cpu / p_path:.2f}x | {p_all:.2f} s |",
                flush=True,
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)


_REAL_WORK: Any = None
_WORK_LOG = ""


def _timed_work(job: Any) -> Any:
    """A worker's unit, timed (computing, pickling the result) into the log (--profile-pool)."""
    import json
    import pickle

    c0, w0 = time.process_time(), time.perf_counter()
    result = _REAL_WORK(job)
    c1 = time.process_time()
    size = len(pickle.dumps(result, -1))
    c2 = time.process_time()
    row = [os.getpid(), len(job.items), c1 - c0, c2 - c1, size, w0, time.perf_counter()]
    with open(_WORK_LOG, "a") as fh:
        fh.write(json.dumps(row) + "\n")
    return result


def profile_pool(args: argparse.Namespace) -> None:
    """Where a parallel scan's time goes, measured in this process and in its workers."""
    import json

    from imds_iac_checks import cli
    from imds_iac_checks import scan as scan_module
    from imds_iac_checks.formats.terraform import graph

    work = tempfile.mkdtemp(prefix="imds-bench-")
    log = Path(work) / "workers.log"
    tree = Path(work) / "monorepo"
    if args.tree:
        tree = args.tree.resolve()
    else:
        generate(tree, args.modules)
    marks: list[tuple[str, float, float]] = []

    def mark(name: str) -> None:
        marks.append((name, time.perf_counter(), time.process_time()))

    global _REAL_WORK, _WORK_LOG
    _REAL_WORK, _WORK_LOG = scan_module._work, str(log)

    def wrap(name, fn):  # type: ignore[no-untyped-def]
        def inner(*a, **k):  # type: ignore[no-untyped-def]
            mark(f"{name} starts")
            try:
                return fn(*a, **k)
            finally:
                mark(f"{name} ends")

        return inner

    real_discover = scan_module.discover

    def discover(*a, **k):  # type: ignore[no-untyped-def]
        mark("walk starts")
        yield from real_discover(*a, **k)
        mark("walk ends")

    scan_module._work = _timed_work
    scan_module.discover = discover
    graph.count_callers = wrap("count_callers", graph.count_callers)
    for name in ("_round", "_replay", "merge_instances"):
        setattr(scan_module, name, wrap(name, getattr(scan_module, name)))
    try:
        import contextlib
        import io

        mark("start")
        with contextlib.redirect_stdout(io.StringIO()):
            cli.main(["check", "--exit-zero", str(tree)])
        mark("report printed")
        t0, c0 = marks[0][1], marks[0][2]
        print(f"parent ({os.getpid()}): wall and CPU seconds since the scan started")
        for name, wall, cpu in marks:
            print(f"  {name:24s} wall {wall - t0:7.3f}  cpu {cpu - c0:7.3f}")
        per: dict[int, list[float]] = {}
        if log.exists():
            for line in log.read_text().splitlines():
                pid, items, compute, pickling, size, start, end = json.loads(line)
                row = per.setdefault(pid, [0, 0, 0.0, 0.0, 0, start, end])
                row[0] += 1
                row[1] += items
                row[2] += compute
                row[3] += pickling
                row[4] += size
                row[5] = min(row[5], start)
                row[6] = max(row[6], end)
        for pid, (units, items, compute, pickling, size, start, end) in sorted(per.items()):
            print(
                f"worker {pid}: {units:.0f} units, {items:.0f} items, computing {compute:.3f} s "
                f"CPU, pickling results {pickling:.3f} s ({size / 1e6:.2f} MB), busy from "
                f"{start - t0:.3f} to {end - t0:.3f}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def parse_floor(tree: Path) -> tuple[float, int, int]:
    """Single-core tree-sitter parse of every .tf file (bytes read beforehand)."""
    import tree_sitter
    import tree_sitter_hcl

    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_hcl.language()))
    blobs = [p.read_bytes() for p in sorted(tree.rglob("*.tf")) if ".terraform" not in p.parts]
    start = time.perf_counter()
    for blob in blobs:
        parser.parse(blob)
    return time.perf_counter() - start, len(blobs), sum(len(b) for b in blobs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modules", type=int, default=2000)
    ap.add_argument("--tree", type=Path, help="benchmark this directory instead of a synthetic one")
    ap.add_argument("--checkov", help="path of a checkov executable (3.3.30) to compare with")
    ap.add_argument("--runs", type=int, default=3, help="runs of each command (median)")
    ap.add_argument("--imds-iac", default=shutil.which("imds-iac") or "imds-iac")
    ap.add_argument(
        "--compare-jobs",
        action="store_true",
        help="IMDS_IAC_JOBS=1 against the default (workers) on trees of --sizes modules",
    )
    ap.add_argument("--sizes", default="100,200,500,1500")
    ap.add_argument(
        "--jobs",
        default="",
        help="IMDS_IAC_JOBS for the parallel runs (default: unset, so the scan decides; "
        "2 forces two workers even on a busy machine)",
    )
    ap.add_argument("--profile-pool", action="store_true", help="where a parallel scan's time goes")
    args = ap.parse_args()
    if args.compare_jobs:
        compare_jobs(args)
        return 0
    if args.profile_pool:
        profile_pool(args)
        return 0

    work = None
    if args.tree:
        tree = args.tree.resolve()
    else:
        work = tempfile.mkdtemp(prefix="imds-bench-")
        tree = Path(work) / "monorepo"
        generate(tree, args.modules)
    try:
        files = sum(1 for p in tree.rglob("*") if p.is_file())
        startup = statistics.median(
            _timed([sys.executable, "-c", "pass"])[0] for _ in range(max(args.runs, 5))
        )
        floor, tf_files, tf_bytes = parse_floor(tree)
        runs = [
            _timed([args.imds_iac, "check", "-q", "--exit-zero", str(tree)])
            for _ in range(args.runs)
        ]
        wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        print(f"tree: {tree} ({files} files, {tf_files} .tf files, {tf_bytes / 1e6:.1f} MB of .tf)")
        print(f"python -c pass:               {startup * 1000:8.1f} ms")
        print(f"tree-sitter parse of all .tf: {floor * 1000:8.1f} ms (single core)")
        print(f"imds-iac check:               {wall * 1000:8.1f} ms, peak RSS {rss} MB")
        budget = startup + floor
        print(f"ratio to start-up + parse floor: {wall / budget:.2f}x (budget 3x)")
        if args.checkov:
            cmd = [
                args.checkov,
                "-d",
                str(tree),
                "--check",
                "CKV_AWS_79,CKV_AWS_341",
                "--quiet",
                "--compact",
                "-o",
                "json",
                "--skip-download",
            ]
            ck = [_timed(cmd) for _ in range(max(1, args.runs // 3))]
            ck_wall = statistics.median(r[0] for r in ck)
            print(
                f"checkov (CKV_AWS_79, CKV_AWS_341): {ck_wall * 1000:8.1f} ms, "
                f"peak RSS {max(r[1] for r in ck)} MB"
            )
            print(f"imds-iac is {ck_wall / wall:.1f}x faster than checkov")
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
