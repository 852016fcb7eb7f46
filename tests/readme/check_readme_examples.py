#!/usr/bin/env python3
"""The README's command examples run as written (issue 23).

  check_readme_examples.py KVSIM README PROJECT_ROOT WORK_DIR

Every code block of README.md (fenced, or indented four spaces or more) is classified:
- a ```bash readme-test block runs as written: in a fresh directory holding links to the
  project's inputs, with `kvsim` on PATH, under `bash -e` and a 20 s timeout;
- a ```python block in the "Python" section is run by the test python.readme_example;
- a block of data or output (```json, ```csv, a printed table) is no command;
- any other command example (a ```bash block, or a block whose first line starts a command)
  must be in EXCLUDED below, with the reason it cannot run here and a dry check that does run
  (its options parse, the files it names load, its scripts are valid shell).
A command example that is neither marked nor excluded fails the test, as does an exclusion no
block matches any more. Inline commands in the prose (`kvsim SUBCOMMAND --option ...`) are
checked too: the subcommand exists and takes every --option the text gives it.
"""
import os
import re
import shutil
import subprocess
import sys

kvsim, readme, root, work = sys.argv[1:]
INPUTS = ["scenarios", "sweeps", "calibration", "models", "predictors", "tools"]
TIMEOUT_S = 20

# First line of an excluded block -> (why it is not run here, a dry check run instead).
EXCLUDED = {
    "tools/setup.sh && tools/build.sh && build/tools/kvsim run scenarios/default.json": (
        "installs Debian packages as root and builds kvsim (minutes); this suite is its build",
        "bash -n tools/setup.sh && bash -n tools/build.sh && "
        "kvsim run scenarios/default.json > /dev/null"),
    "tools/test.sh": (
        "runs the whole test suite, this test among it",
        "bash -n tools/test.sh"),
    "kvsim cost gemm --m 4096 --n 4096 --k 4096 [--dtype fp16]": (
        "a synopsis: [...] marks an optional flag, (or ...) an alternative",
        "SYNOPSIS"),
    "mpirun -n 16 --hostfile hosts build/tools/kvsim sweep sweeps/serving/load.json "
    "--threads 4 --out load": (
        "needs mpirun and a hostfile of 16 ranks' machines (tests/cli/check_mpi_sweep.sh runs "
        "mpirun where it is installed)",
        "kvsim sweep --help > /dev/null && "
        "if [ -e ../shared/data/traces/splitwise_conv.csv ]; then "
        "kvsim sweep sweeps/serving/load.json --threads 4 --shard 1/1000 --out part.json -q "
        "--set /set/~1serving~1workload~1requests=50; fi"),
    "#!/bin/bash": (
        "a Slurm array job script, for sbatch (tests/cli/check_shard_merge.sh runs shards)",
        "bash -n BLOCK"),
    "kvsim merge parts/*.json --out load": (
        "merges the parts the Slurm array wrote (tests/cli/check_shard_merge.sh runs it)",
        "kvsim merge --help > /dev/null"),
    "kvsim calibrate-engine MEASUREMENTS... --scenario TEMPLATE --base ENGINE.json \\": (
        "a synopsis with placeholders (MEASUREMENTS, TEMPLATE, ENGINE.json, DIR)",
        "kvsim calibrate-engine --help > /dev/null"),
    "PYTHONPATH=build/tools/python /usr/bin/python3": (
        "starts an interactive interpreter; python.readme_example runs the example below it",
        "bash -n BLOCK"),
    "tools/fuzz.sh 270     # build-fuzz (clang, ASan+UBSan), each target 270 s in turn (~32 min)": (
        "clang builds under sanitizers, ~32 min of fuzzing",
        "bash -n tools/fuzz.sh && bash -n tools/sanitize.sh"),
}

COMMAND = re.compile(r"^(\$ )?(kvsim|build/tools/kvsim|tools/|mpirun|PYTHONPATH=|python3?\b|"
                     r"/usr/bin/python3|bash\b|sh\b|sbatch|srun|#!/bin/(ba)?sh|\./|cd\b|ctest|"
                     r"cmake|make\b|git\b|pip)")
SHELL_INFOS = {"bash", "sh", "shell", "console", "zsh"}


def blocks(text):
    """(first line number, info string or None for an indented block, lines, section)."""
    lines = text.split("\n")
    out, section, i = [], "", 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line[3:].strip()
        fence = re.match(r"^\s*```(.*)$", line)
        if fence:
            j = i + 1
            while j < len(lines) and not re.match(r"^\s*```\s*$", lines[j]):
                j += 1
            out.append((i + 1, fence.group(1).strip(), lines[i + 1:j], section))
            i = j + 1
            continue
        if re.match(r"^ {4,}\S", line) and (i == 0 or lines[i - 1].strip() == ""):
            j = i
            while j < len(lines) and (re.match(r"^ {4,}\S", lines[j]) or
                                      (lines[j].strip() == "" and j + 1 < len(lines) and
                                       re.match(r"^ {4,}\S", lines[j + 1]))):
                j += 1
            indent = min(len(l) - len(l.lstrip()) for l in lines[i:j] if l.strip())
            out.append((i + 1, None, [l[indent:] for l in lines[i:j]], section))
            i = j
            continue
        i += 1
    return out


def kind(info, body, section):
    """'run', 'python', 'data' or 'command' (a command example to be excluded or marked)."""
    words = (info or "").split()
    first = next((l.strip() for l in body if l.strip()), "")
    if words[:2] == ["bash", "readme-test"]:
        return "run"
    if words[:1] == ["python"] and section == "Python":
        return "python"
    if words and words[0] in SHELL_INFOS:
        return "command"
    if words and words[0] not in SHELL_INFOS:
        return "command" if words[0] == "python" else "data"
    return "command" if COMMAND.match(first) else "data"


def synopsis(body):
    """A synopsis's lines as commands: optional [...] and alternatives (or ...) left out."""
    commands = []
    for line in body:
        line = re.sub(r"\(or [^)]*\)", "", line)
        line = re.sub(r"\[[^\]]*\]", "", line)
        commands.append(" ".join(line.split()))
    return "\n".join(c for c in commands if c)


def run(name, script, directory):
    os.makedirs(directory)
    for d in INPUTS:
        os.symlink(os.path.join(root, d), os.path.join(directory, d))
    path = os.path.join(directory, "..", name + ".sh")
    with open(path, "w") as f:
        f.write(script + "\n")
    env = dict(os.environ, PATH=os.path.join(work, "bin") + os.pathsep + os.environ["PATH"])
    try:
        done = subprocess.run(["bash", "-e", path], cwd=directory, env=env, timeout=TIMEOUT_S,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except subprocess.TimeoutExpired:
        return f"took over {TIMEOUT_S} s"
    return None if done.returncode == 0 else f"exit {done.returncode}:\n{done.stdout[-3000:]}"


def help_text(subcommand, cache={}):
    if subcommand not in cache:
        done = subprocess.run([kvsim, *subcommand.split(), "--help"], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        cache[subcommand] = done.stdout if done.returncode == 0 else None
    return cache[subcommand]


def check_inline(text):
    """Inline `kvsim SUB ...` spans: SUB exists, and its --help names every --option given."""
    failures = []
    top = subprocess.run([kvsim, "--help"], stdout=subprocess.PIPE, text=True).stdout
    subcommands = set(re.findall(r"^  ([a-z][a-z-]*) ", top.split("Subcommands:")[-1], re.M))
    for span in re.findall(r"`((?:build/tools/)?kvsim [a-z][a-z-]*[^`]*)`", text):
        words = span.replace("\\|", "|").split()
        sub = words[1]
        if sub in ("warning:", "is", "was"):  # prose, not a command ("kvsim: warning: ...")
            continue
        helped = help_text(sub) if sub in subcommands else None
        if helped is None:
            failures.append(f"`{span}`: kvsim has no command '{sub}'")
            continue
        # `kvsim cost gemm|attention ...`: the options of each subcommand named count too.
        if len(words) > 2 and re.fullmatch(r"[a-z-]+(\|[a-z-]+)*", words[2]):
            for nested in words[2].split("|"):
                helped += help_text(f"{sub} {nested}") or ""
        for option in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", span):
            if not re.search(r"(?<![\w-])" + re.escape(option) + r"(?![\w-])", helped):
                failures.append(f"`{span}`: kvsim {sub} has no option {option}")
    print(f"{len(re.findall(r'`(?:build/tools/)?kvsim [a-z]', text))} inline commands checked")
    return failures


def main():
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "bin"))
    os.symlink(os.path.realpath(kvsim), os.path.join(work, "bin", "kvsim"))
    # The measurements beside the checkout (../shared/data), where scenarios find them.
    shared = os.path.join(root, "..", "shared")
    if os.path.isdir(shared):
        os.symlink(os.path.realpath(shared), os.path.join(work, "shared"))
    text = open(readme).read()
    failures, ran, dry, used = [], 0, 0, set()
    for n, (line, info, body, section) in enumerate(blocks(text), 1):
        k = kind(info, body, section)
        where = f"README.md:{line}"
        if k == "run":
            error = run(f"block-{n}", "\n".join(body), os.path.join(work, f"run-{n}"))
            ran += 1
            if error:
                failures.append(f"{where}: the example failed ({error}):\n" + "\n".join(body))
            continue
        if k != "command":
            continue
        first = next(l.strip() for l in body if l.strip())
        if first not in EXCLUDED:
            failures.append(f"{where}: a command example neither run (```bash readme-test) nor "
                            f"excluded with a reason in {sys.argv[0]}:\n  {first}")
            continue
        used.add(first)
        reason, check = EXCLUDED[first]
        print(f"{where}: not run ({reason}); dry check instead")
        script_path = os.path.join(work, f"block-{n}.txt")
        with open(script_path, "w") as f:
            f.write("\n".join(body) + "\n")
        check = synopsis(body) if check == "SYNOPSIS" else check.replace("BLOCK", script_path)
        error = run(f"dry-{n}", check, os.path.join(work, f"dry-{n}"))
        dry += 1
        if error:
            failures.append(f"{where}: the dry check of an excluded example failed ({error}):\n"
                            f"  {check}")
    for stale in sorted(set(EXCLUDED) - used):
        failures.append(f"an exclusion matches no README example any more: {stale}")
    failures += check_inline(text)
    for f in failures:
        print(f, end="\n\n")
    if ran == 0:
        failures.append("no ```bash readme-test block")
    print(f"{ran} README examples ran, {dry} excluded examples dry-checked, "
          f"{len(failures)} failure(s)")
    return 1 if failures else 0


sys.exit(main())
