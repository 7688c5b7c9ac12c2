# Shared helpers for the scripts in this folder. Sourced, not run.

TOOLS=${REFGRAPH_TOOLS:-$root/target/tools}

# A venv with maturin and pytest for the machine's python3, made once.
ensure_tools() {
    if [ ! -x "$TOOLS/bin/maturin" ] || [ ! -x "$TOOLS/bin/pytest" ]; then
        echo "setting up build tools in $TOOLS" >&2
        python3 -m venv "$TOOLS"
        "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.7,<2" "pytest>=7"
    fi
}

# find_python 3.14 -> the path of a Python 3.14, from the first of:
#   1. pyenv (its newest 3.14.x);
#   2. a python3.14 on PATH that runs and is 3.14;
#   3. scripts/provide-python, which unpacks Debian unstable's python3.14
#      packages into target/pythons/ (Debian-based hosts; 3.14 and 3.15 are
#      what it is for, as pyenv here stops at 3.13).
# Says on stderr which one it took. A path (anything with a /) is returned as
# it is, so REFGRAPH_TEST_PYTHONS=/path/to/python3.14 brings your own.
find_python() {
    local want=$1 v py
    case $want in
        */*)
            [ -x "$want" ] || { echo "no Python at $want (not an executable file)" >&2; return 1; }
            echo "$want"; return ;;
    esac
    if command -v pyenv >/dev/null 2>&1; then
        v=$(ls -d "$(pyenv root)/versions/$want".* 2>/dev/null | sort -V | tail -n 1 || true)
        if [ -n "$v" ] && [ -x "$v/bin/python" ]; then
            echo "Python $want: $v/bin/python (pyenv)" >&2
            echo "$v/bin/python"; return
        fi
    fi
    # Skips pyenv shims of versions that are not selected, and anything else
    # named python3.X that does not run as 3.X.
    if py=$(command -v "python$want" 2>/dev/null) &&
        "$py" -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, sys.argv[1].split("."))))' "$want" >/dev/null 2>&1; then
        echo "Python $want: $py (PATH)" >&2
        echo "$py"; return
    fi
    if py=$("$root/scripts/provide-python" "$want"); then
        echo "Python $want: $py (Debian's packages, by scripts/provide-python)" >&2
        echo "$py"; return
    fi
    echo "no Python $want found: not in pyenv, no working python$want on PATH, and scripts/provide-python could not provide it (see above)" >&2
    return 1
}

# make_venv PYTHON DIR -> a venv with pip in DIR, made with the interpreter's
# own venv module; the same for pyenv's, PATH's and provided interpreters
# (provide-python points Debian's ensurepip at the unpacked pip wheel).
make_venv() {
    rm -rf "$2"
    "$1" -m venv "$2" || { echo "'$1 -m venv $2' failed" >&2; return 1; }
    echo "$1" >"$2/.refgraph-python"
}

# venv_for PYTHON DIR -> true when DIR is a venv made by make_venv from PYTHON
venv_for() {
    [ -x "$2/bin/python" ] && [ "$(cat "$2/.refgraph-python" 2>/dev/null)" = "$1" ]
}

# py_tag PYTHON -> cp311
py_tag() {
    "$1" -c 'import sys; print("cp%d%d" % sys.version_info[:2])'
}
