"""Build the shanxi extension.

The dataset in data/ is compiled into the extension: build_ext first runs
tools/embed_data.py to write it as a C header into the build directory, and
the extension lists data/ as a dependency so editing the data rebuilds it.

Environment switches (for development and CI; a plain `pip install .` needs none):
  SHANXI_STRICT=1    compile with -Wall -Wextra -Werror
  SHANXI_SANITIZE=1  build with AddressSanitizer + UndefinedBehaviorSanitizer
  SHANXI_DEBUG=1     -O0 -g, assertions on
"""
import os
import sys
from glob import glob
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "tools"))
import embed_data  # noqa: E402  (the generator lives in the repo, not on sys.path)

DATA = "data/shanxi_2022.csv"


def flag(name):
    return os.environ.get(name, "") not in ("", "0")


class build_ext_with_data(build_ext):
    """build_ext that first generates the embedded-data header."""

    def build_extensions(self):
        generated = Path(self.build_temp) / "generated"
        embed_data.embed(HERE / DATA, generated / "shanxi_embedded_data.h")
        for ext in self.extensions:
            ext.include_dirs.append(str(generated))
        super().build_extensions()


compile_args, link_args, macros = [], [], []
if os.name != "nt":
    compile_args += ["-std=c11"]
    # Only PyInit__shanxi is the module's interface: the functions the
    # binding's files and the core share stay inside the .so.
    compile_args += ["-fvisibility=hidden"]
if flag("SHANXI_STRICT"):
    compile_args += ["-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wstrict-prototypes",
                     "-Wno-missing-field-initializers", "-Wno-cast-function-type"]
if flag("SHANXI_SANITIZE"):
    san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
           "-fno-omit-frame-pointer"]
    compile_args += san + ["-O1", "-g"]
    link_args += san
if flag("SHANXI_DEBUG"):
    compile_args += ["-O0", "-g", "-UNDEBUG"]
if sys.platform.startswith("linux"):
    macros += [("_GNU_SOURCE", "1")]

extension = Extension(
    "shanxi._shanxi",
    sources=sorted(glob("shanxi_ext/*.c")) + sorted(glob("shanxi_ext/core/*.c")),
    include_dirs=["include"],
    depends=[DATA, "tools/embed_data.py"] + sorted(glob("include/shanxi/*.h"))
    + sorted(glob("shanxi_ext/*.h")) + sorted(glob("shanxi_ext/core/*.h")),
    define_macros=macros,
    extra_compile_args=compile_args,
    extra_link_args=link_args,
)

setup(
    ext_modules=[extension],
    cmdclass={"build_ext": build_ext_with_data},
)
