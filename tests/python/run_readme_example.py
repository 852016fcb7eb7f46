"""Runs the README's Python example as written: every ```python block under its "Python"
section, in order, in one namespace, from the checkout's root. Fails when there is none."""
import re
import sys

text = open(sys.argv[1]).read()
section = re.search(r"^## Python\b.*?(?=^## |\Z)", text, re.S | re.M)
if not section:
    sys.exit("README.md has no '## Python' section")
blocks = re.findall(r"^```python\n(.*?)^```", section.group(0), re.S | re.M)
if not blocks:
    sys.exit("README.md's Python section has no ```python block")
namespace = {"__name__": "__main__"}
for block in blocks:
    exec(compile(block, "README.md", "exec"), namespace)
print(f"ran {len(blocks)} README Python block(s)")
