"""Citation verification on the dev set: gold quotes kept, altered quotes caught, time per answer.

Usage: python benchmarks/bench_citations.py [SHARED_DIR]   (default ../shared next to the checkout)
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from langchain_core.documents import Document

from retrievers.citations import verify_answer

SHARED = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared"


def main() -> None:
    lines = (SHARED / "knowledge" / "bpf-2019" / "guide-bpf-2019.txt").read_bytes().decode("cp1252").split("\n")
    questions = [json.loads(line) for line in (SHARED / "datasets" / "bpf_dev.jsonl").read_text().splitlines()]
    kept = caught = flagged = total = 0
    timings: list[float] = []
    sizes: list[int] = []
    for question in questions:
        for gold in question["gold"]:
            # 8 extracts around the gold line (which sometimes points at the heading above the quote).
            line = gold["line"] - 1
            window = lines[max(0, line - 8): line + 24]
            chunks = [Document(page_content="\n".join(window[i: i + 4]), metadata={"chunk_id": str(i)})
                      for i in range(0, len(window), 4)]
            sizes.append(sum(len(chunk.page_content) for chunk in chunks))
            words = gold["quote"].split()
            altered = " ".join([*words[: len(words) // 2], "notamment", *words[len(words) // 2:]])
            answer = (f"Le guide l'exige (Partie {gold['part']}, §{gold['paragraph']}) : « {gold['quote']} ». "
                      f"Il ajoute : « {altered} ». Voir aussi la Partie I, chapitre 10.")
            start = time.perf_counter()
            report = verify_answer(answer, chunks, {(gold["part"], gold["paragraph"])}, {"I": set("123456789")})
            timings.append((time.perf_counter() - start) * 1000)
            total += 1
            kept += [q.text.strip() for q in report.verified_quotes] == [gold["quote"]]
            caught += [q.text.strip() for q in report.removed_quotes] == [altered]
            flagged += [r.chapter for r in report.invalid_references] == ["10"]
    timings.sort()
    print(f"gold quotes kept:      {kept}/{total}")
    print(f"altered quotes caught: {caught}/{total}")
    print(f"chapter 10 of Part I flagged: {flagged}/{total}")
    extract_chars = statistics.median(sizes) / 8
    print(f"verify_answer, 8 extracts of {extract_chars:.0f} chars: p50 {statistics.median(timings):.2f} ms, "
          f"p95 {timings[int(0.95 * (len(timings) - 1))]:.2f} ms")


if __name__ == "__main__":
    main()
