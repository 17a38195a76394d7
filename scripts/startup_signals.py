"""Send SIGINT or SIGTERM to ``nnfield --help`` a few milliseconds after it starts and print what happened: the
measurement behind the start-up window stated in docs/reliability.md.

    python scripts/startup_signals.py [--tries 5] [--ms 0,5,10,15,20,25,30,40,60]

Before the interpreter has loaded ``nnfield._entry`` (the console script's first import) no code of nnfield's has
run: SIGTERM then ends the process by the default action (-15) and SIGINT raises Python's KeyboardInterrupt
wherever the interpreter is (a traceback, or -2). From then on nnfield answers with one line and 143 / 130.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tries", type=int, default=5)
    ap.add_argument("--ms", default="0,5,10,15,20,25,30,40,60")
    args = ap.parse_args()
    exe = shutil.which("nnfield") or str(Path(sys.executable).with_name("nnfield"))
    print("| delay (ms) | signal | exit codes (traceback: T) |")
    print("|---|---|---|")
    for sig in (signal.SIGTERM, signal.SIGINT):
        for ms in (float(x) for x in args.ms.split(",")):
            codes = []
            for _ in range(args.tries):
                proc = subprocess.Popen([exe, "--help"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                time.sleep(ms / 1000)
                proc.send_signal(sig)
                _, err = proc.communicate()
                codes.append(f"{proc.returncode}{'T' if 'Traceback' in err else ''}")
            print(f"| {ms:g} | {signal.Signals(sig).name} | {' '.join(codes)} |", flush=True)


if __name__ == "__main__":
    main()
