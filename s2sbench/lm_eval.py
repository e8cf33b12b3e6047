"""``python -m s2sbench.lm_eval ARGS``: lm-evaluation-harness's own command line, every argument unchanged,
with the ``s2sbench`` model registered (:mod:`s2sbench.integrations.lm_eval`), e.g.

    python -m s2sbench.lm_eval --model s2sbench --model_args model=DIR,device=cpu \\
        --tasks s2sbench_story_s2t --include_path EXPORT/lm_eval --log_samples --output_path OUT
"""

from __future__ import annotations

import sys

from s2sbench.errors import S2SBenchError


def run() -> None:
    try:
        from s2sbench.integrations.lm_eval import main
    except S2SBenchError as error:  # lm-eval is not installed
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    main()


if __name__ == "__main__":
    run()
