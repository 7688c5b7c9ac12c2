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

# find_python 3.11 -> the pyenv interpreter for 3.11 (or python3.11 on PATH);
# a path is returned as it is.
find_python() {
    local want=$1
    case $want in
        */*) echo "$want"; return ;;
    esac
    if command -v pyenv >/dev/null 2>&1; then
        local v
        v=$(ls -d "$(pyenv root)/versions/$want".* 2>/dev/null | sort -V | tail -n 1 || true)
        if [ -n "$v" ] && [ -x "$v/bin/python" ]; then
            echo "$v/bin/python"; return
        fi
    fi
    if command -v "python$want" >/dev/null 2>&1; then
        command -v "python$want"; return
    fi
    echo "no Python $want found (looked in pyenv and PATH)" >&2
    return 1
}

# py_tag PYTHON -> cp311
py_tag() {
    "$1" -c 'import sys; print("cp%d%d" % sys.version_info[:2])'
}
