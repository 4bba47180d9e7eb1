#  python.sh - sourced by run and mixed_pipeline.sh: picks a Python 3 that can
#  import the modules given ($BATON_PYTHON, python3 on PATH, /usr/bin/python3),
#  exported as BATON_PYTHON; returns 1 if none can.
baton_pick_python() {
    imports=$(echo "$@" | tr ' ' ',')
    for py in "${BATON_PYTHON:-}" python3 /usr/bin/python3; do
        [ -n "$py" ] || continue
        if "$py" -c "import $imports" >/dev/null 2>&1; then
            BATON_PYTHON=$(command -v "$py")
            export BATON_PYTHON
            return 0
        fi
    done
    return 1
}
