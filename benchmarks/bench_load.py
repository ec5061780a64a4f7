"""Benchmark: loading an evidence base versus parsing the same file with bare bibtexparser.

What it measures
----------------
1. Generates, deterministically (seeded ``random.Random``), a realistic BibTeX file of N entries
   in a temporary directory: ``%`` comments, an ``@preamble``, ``@string`` journal macros used by
   about 30% of entries, a mix of entry types (article ~70%, book, incollection, inproceedings,
   misc, phdthesis), 3-12 authors with LaTeX accents in about 30% of names, braces protecting
   capitals in titles, multi-sentence abstracts in about 40% of entries, doi/pmid, and the outcome
   fields of schema v1 (design, blinding, conditions, route, arms, n_enrolled, 1-4 ``outcomes``
   rows, all valid) on about 25% of entries. About 10-15 MB per 10,000 entries.
2. Times, in the same process and interleaved over ``--repeat`` rounds (the order of the two
   alternates between rounds; ``gc.collect()`` before every run; ``time.perf_counter``):

   (a) ``bibtexparser.parse_file(path)`` -- the bare default parse stack;
   (b) ``evidence.load(path)`` followed by accessing ``base.studies`` and ``base.outcomes`` (the
       two pandas DataFrames).

   A warm-up (one untimed run of each on a 200-entry file) comes first unless ``--no-warmup``,
   and every ``functools`` cache in the ``evidence`` modules is emptied before each run (so each
   run costs what loading the file in a fresh process costs) unless ``--keep-caches``.
   It prints median and min of each, the ratio median(b) / median(a) and whether it meets the
   project's target of at most 1.5x. If ``evidence.load`` is not importable yet, it says so and
   times only (a).
3. Per-stage figures, where available:

   * ``evidence.bib.read_bib(path)`` (lossless reader: decode + parse + locate every block), timed
     as its own run when the module exists;
   * if the object returned by ``evidence.load`` has a ``timings`` (or ``stage_times``) attribute
     that maps stage name to seconds, the median of each stage over the rounds.

How to run
----------
From the repository root, with the dev environment::

    python benchmarks/bench_load.py                      # 10,000 entries, 5 rounds
    python benchmarks/bench_load.py --entries 10000 --repeat 3
    python benchmarks/bench_load.py --keep /tmp/bench.bib   # also keep the generated file
    python benchmarks/bench_load.py --seed 7 --no-warmup    # other data; include cold start

The generated references are fictional (DOIs use the 10.5555 test prefix).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bibtexparser

TARGET_RATIO = 1.5

# --------------------------------------------------------------------------- vocabulary

SURNAMES = [
    "Smith", "Nguyen", "Okafor", "Lindqvist", "Tanaka", "Brennan", "Kowalski", "Rossi",
    "Haddad", "Jensen", "Petrov", "Moreau", "Schmidt", "Chen", "Kaur", "Walsh", "Novak",
    "Santos", "Ibrahim", "Larsen", "Murphy", "Takahashi", "Fischer", "Silva", "Kim",
    "O'Brien", "Andersson", "Costa", "Rahman", "Whitfield", "Halvorsen", "Mbeki",
]  # fmt: skip
ACCENTED_SURNAMES = [
    r"M{\"u}ller", r"Garc{\'\i}a", r"{\O}stergaard", r"Gon\c{c}alves", r"Stra{\ss}er",
    r"H{\aa}kansson", r"Rivi{\`e}re", r"Dahl{\'e}n", r"Schi{\"o}th", r"J\"{o}nsson",
    r"Fern\'{a}ndez", r"Ca{\~n}ete", r"Bj{\o}rnstad", r"Pe{\~n}a", r"Gr\"{u}n",
    r"Lef{\`e}vre", r"{\"O}zt{\"u}rk", r"Cz{\'a}rdi", r"Ren{\'e}", r"Kr{\'o}l",
]  # fmt: skip
GIVEN = [
    "Anna", "Paul", "Maria", "John", "Sofie", "Hiroshi", "Chidi", "Elena", "Lars", "Priya",
    "Tomas", "Grace", "Ahmed", "Ingrid", "Luca", "Mei", "Rui", "Fiona", "Jonas", "Aisha",
]  # fmt: skip
ACCENTED_GIVEN = [r"Jo{\~a}o", r"Ren{\'e}e", r"J{\"o}rg", r"{\AA}sa", r"Andr\'{e}", r"Fran\c{c}ois"]

JOURNALS_MACRO = {
    "jp": "J Psychopharmacol",
    "ajp": "Am J Psychiatry",
    "jad": "J Affect Disord",
    "bp": "Biol Psychiatry",
    "pm": "Psychol Med",
    "npp": "Neuropsychopharmacology",
    "jcp": "J Clin Psychopharmacol",
}
JOURNALS_PLAIN = [
    "Journal of Psychopharmacology",
    "The American Journal of Psychiatry",
    "Journal of Affective Disorders",
    "Biological Psychiatry",
    "Psychological Medicine",
    "Australian \\& New Zealand Journal of Psychiatry",
    "Frontiers in Psychiatry",
    "CNS Spectrums",
    "Depression and Anxiety",
    "The Lancet Psychiatry",
]
PUBLISHERS = ["Springer", "Oxford University Press", "Cambridge University Press", "Elsevier"]
AFFILIATIONS = [
    "Department of Psychiatry, University of Otago, Dunedin, New Zealand",
    "Department of Clinical Neuroscience, Karolinska Institutet, Stockholm, Sweden",
    "Mood and Anxiety Disorders Program, National Institute of Mental Health, Bethesda, MD, USA",
    "Department of Psychiatry and Psychotherapy, Charit{\\'e} -- Universit{\\\"a}tsmedizin Berlin",
    "Institute of Psychiatry, Psychology \\& Neuroscience, King's College London, London, UK",
    "Centre for Addiction and Mental Health, University of Toronto, Toronto, ON, Canada",
]
GROUPS = ["Ketamine", "Esketamine", "Anxiety", "Depression", "PTSD", "OCD", "Reviews", "To read"]
NOTES = [
    "Secondary analysis of a randomised trial; counts taken from the supplementary tables",
    "Conference abstract; full paper not yet published",
    "Erratum published; corrected figures used",
    "Preprint version; check against the published article",
]
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

CONDITION_WORDS = {
    "GAD": "{GAD}",
    "SAD": "{S}ocial {A}nxiety {D}isorder",
    "OCD": "{OCD}",
    "PTSD": "{PTSD}",
    "PD": "panic disorder",
    "TRD": "treatment-resistant depression",
    "MDD": "{M}ajor {D}epressive {D}isorder",
    "anxiety": "refractory anxiety",
    "depression": "depression",
}
AGENT_WORDS = ["ketamine", "esketamine", "intranasal esketamine", "{S}-ketamine", "oral ketamine"]
TITLE_TEMPLATES = [
    "{agent} for {cond}: a randomised controlled trial",
    "Rapid effects of {agent} in {cond}",
    "A pilot study of {agent} in {cond} ({acr})",
    "{Agent} versus midazolam in {cond}: results of the {acr} trial",
    "Dose-related effects of {agent} on {cond} symptoms",
    "Long-term outcomes after {agent} in {cond}",
    "{Agent} and {NMDA} receptor antagonism in {cond}: a review",
    "Predictors of response to {agent} in {cond}",
]
SENTENCES = [
    "Ketamine, an {NMDA} receptor antagonist, has rapid antidepressant effects in treatment-"
    "resistant depression, but its effects on anxiety symptoms have been studied far less often.",
    "We enrolled adults with a DSM-5 diagnosis who had not responded to at least two adequate "
    "courses of treatment, including one selective serotonin reuptake inhibitor.",
    "Participants received a single intravenous infusion of 0.5 mg/kg over 40 minutes, or an "
    "active placebo, in random order and at least one week apart.",
    "Response was defined as a reduction of at least 50\\% from baseline on the primary rating "
    "scale, assessed by a rater who was blind to treatment allocation.",
    "Dissociative symptoms, measured with the {CADSS}, peaked at 40 minutes after the start of "
    "the infusion and resolved within two hours in all participants.",
    "The anxiolytic effect was largest at 24 hours and waned over the following week, although a "
    "minority of participants remained well at day 28.",
    "No serious adverse events occurred; transient increases in blood pressure and mild nausea "
    "were the most commonly reported effects during the first hour.",
    "These findings support larger, adequately powered trials with an active placebo and longer "
    "follow-up to establish the durability of the response.",
    "Attrition was low (under 10\\%) and the blind was maintained in most participants, as "
    "judged by their guesses of allocation at the end of each session.",
    "Secondary outcomes included functioning, quality of life and clinician-rated global "
    "improvement at day 28, analysed by intention to treat.",
    "Results should be interpreted with caution given the small sample, the single site and the "
    "short follow-up, and they require replication.",
    "Subgroup analyses suggested that participants with comorbid depression responded at least "
    "as well as those with a primary anxiety disorder alone.",
]
KEYWORDS = [
    "ketamine", "esketamine", "anxiety", "depression", "PTSD", "OCD", "NMDA", "glutamate",
    "randomised controlled trial", "rapid-acting antidepressant", "dissociation", "infusion",
]  # fmt: skip

DESIGNS = ["rct-parallel", "rct-crossover", "single-arm", "ascending-dose", "maintenance",
           "case-series", "cohort"]  # fmt: skip
DOMAIN_MEASURES = {
    "anxiety": ["HAM-A", "LSAS", "VAS-A", "HADS-A", "FQ"],
    "obsessive-compulsive": ["Y-BOCS", "OCD-VAS"],
    "ptsd": ["CAPS-5", "PCL-5", "IES-R"],
    "depression": ["MADRS", "HADS-D"],
    "functioning": ["CGI"],
}
CONDITION_DOMAIN = {
    "GAD": "anxiety", "SAD": "anxiety", "PD": "anxiety", "anxiety": "anxiety",
    "OCD": "obsessive-compulsive", "PTSD": "ptsd",
    "TRD": "depression", "MDD": "depression", "depression": "depression",
}  # fmt: skip
ROUTES = ["IV", "IV", "IV", "IM", "SC", "oral", "sublingual", "intranasal"]
TIMES = ["3 h", "24 h", "90 min", "1 week", "2 weeks", "day 28", "week 2", "96 h", "1-3 days"]
ANALYSES = ["itt", "completers", "first-phase", "per-protocol"]


# --------------------------------------------------------------------------- generator


@dataclass
class Generated:
    path: Path
    entries: int
    with_outcome_fields: int
    outcome_rows: int
    size: int


def _letters(n: int) -> str:
    """'' for 0, then a, b, ..., z, aa, ab, ... (suffixes that keep citation keys unique)."""
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(97 + rem) + out
    return out


def _name(rng: random.Random) -> str:
    accented = rng.random() < 0.30
    if accented:
        surname = rng.choice(ACCENTED_SURNAMES)
        given = rng.choice(ACCENTED_GIVEN) if rng.random() < 0.3 else rng.choice(GIVEN)
    else:
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN)
    initial = f" {chr(rng.randrange(65, 91))}." if rng.random() < 0.6 else ""
    return f"{surname}, {given}{initial}"


def _title(rng: random.Random, cond: str) -> str:
    agent = rng.choice(AGENT_WORDS)
    acr = "".join(chr(rng.randrange(65, 91)) for _ in range(rng.randint(3, 6)))
    template = rng.choice(TITLE_TEMPLATES)
    return template.format(
        agent=agent,
        Agent=agent[:1].upper() + agent[1:],
        cond=CONDITION_WORDS[cond],
        acr="{" + acr + "}",
        NMDA="{NMDA}",
    )


def _outcome_fields(rng: random.Random, cond: str) -> tuple[list[tuple[str, str]], int]:
    design = rng.choice(DESIGNS)
    agent = "esketamine" if cond in ("TRD", "MDD") and rng.random() < 0.4 else "ketamine"
    if design in ("rct-parallel", "rct-crossover"):
        arms = [agent, rng.choice(["placebo", "midazolam"])]
        blinding = "double-blind"
    elif design == "ascending-dose":
        arms = ["placebo", f"{agent}-0.25", f"{agent}-0.5", f"{agent}-1.0"]
        blinding = "single-blind"
    else:
        arms = [agent]
        blinding = "open-label"
    conditions = [cond] + ([rng.choice(["anxiety", "MDD", "GAD"])] if rng.random() < 0.3 else [])
    conditions = list(dict.fromkeys(conditions))
    n_per_arm = rng.randint(6, 120)
    n_enrolled = n_per_arm * (1 if design in ("rct-crossover", "ascending-dose") else len(arms))
    domain = CONDITION_DOMAIN[cond]
    rows = []
    for _ in range(rng.randint(1, 4)):
        arm = rng.choice(arms)
        dom = domain if rng.random() < 0.85 else "functioning"
        measure = rng.choice(DOMAIN_MEASURES[dom])
        n = max(1, n_per_arm - rng.randint(0, max(1, n_per_arm // 10)))
        responders = rng.randint(0, n)
        threshold = rng.choice([30, 35, 50])
        parts = [
            f"arm={arm}",
            f"domain={dom}",
            f"measure={measure}",
            f"response={{>={threshold}% {measure} reduction}}",
            f"responders={responders}",
            f"n={n}",
            f"percent={round(100 * responders / n, 1)}",
            f"time={rng.choice(TIMES)}",
            f"analysis={rng.choice(ANALYSES)}",
        ]
        if rng.random() < 0.3:
            parts.append("derived=yes")
        rows.append("; ".join(parts))
    body = "".join(f"    {row}\n" for row in rows)
    fields = [
        ("design", f"{{{design}}}"),
        ("blinding", f"{{{blinding}}}"),
        ("conditions", "{" + "; ".join(conditions) + "}"),
        ("route", f"{{{rng.choice(ROUTES)}}}"),
        ("arms", "{" + "; ".join(arms) + "}"),
        ("n_enrolled", str(n_enrolled) if rng.random() < 0.5 else f"{{{n_enrolled}}}"),
        ("outcomes", "{\n" + body + "  }"),
    ]
    if rng.random() < 0.5:
        fields.append(("verification", f"{{{rng.choice(['verified', 'partly', 'unverified'])}}}"))
    return fields, len(rows)


def generate(path: Path, n_entries: int, seed: int) -> Generated:
    """Write a deterministic, realistic ``.bib`` file of ``n_entries`` entries to ``path``."""
    rng = random.Random(seed)
    out: list[str] = [
        "% Benchmark bibliography generated by benchmarks/bench_load.py (fictional references).\n",
        f"% seed = {seed}, entries = {n_entries}\n\n",
        '@preamble{ "\\newcommand{\\noopsort}[1]{}" }\n\n',
    ]
    out += [f'@string{{{k} = "{v}"}}\n' for k, v in JOURNALS_MACRO.items()]
    out.append("\n")
    macros = list(JOURNALS_MACRO)
    types = ["article", "book", "incollection", "inproceedings", "misc", "phdthesis"]
    weights = [70, 6, 8, 8, 4, 4]
    key_counts: dict[str, int] = {}
    with_outcomes = 0
    outcome_rows = 0
    conds = list(CONDITION_WORDS)
    for i in range(n_entries):
        if i % 250 == 0:
            out.append(f"% ---- section {i // 250 + 1} " + "-" * 60 + "\n\n")
        elif rng.random() < 0.05:
            out.append(f"% note: check entry {i} against the full text\n")
        etype = rng.choices(types, weights)[0]
        year = rng.randint(1995, 2024)
        authors = [_name(rng) for _ in range(rng.randint(3, 12))]
        base_key = "".join(ch for ch in authors[0].split(",")[0] if ch.isalpha()) + str(year)
        seen = key_counts.get(base_key, 0)
        key_counts[base_key] = seen + 1
        key = base_key + _letters(seen)
        cond = rng.choice(conds)
        fields: list[tuple[str, str]] = [
            ("author", "{" + " and ".join(authors) + "}"),
            ("title", "{" + _title(rng, cond) + "}"),
        ]
        if etype == "article":
            if rng.random() < 0.43:  # 43% of the 70% articles: ~30% of all entries
                fields.append(("journal", rng.choice(macros)))
            else:
                fields.append(("journal", "{" + rng.choice(JOURNALS_PLAIN) + "}"))
            fields += [
                ("year", str(year) if rng.random() < 0.5 else f"{{{year}}}"),
                ("volume", f"{{{rng.randint(1, 300)}}}"),
                ("number", f"{{{rng.randint(1, 12)}}}"),
            ]
            if rng.random() < 0.5:
                fields.append(("month", rng.choice(MONTHS)))
            first = rng.randint(1, 2000)
            fields.append(("pages", f"{{{first}--{first + rng.randint(4, 20)}}}"))
        elif etype in ("book", "incollection"):
            fields += [
                ("publisher", "{" + rng.choice(PUBLISHERS) + "}"),
                ("address", "{" + rng.choice(["Oxford", "Cham", "Cambridge", "London"]) + "}"),
                ("year", f"{{{year}}}"),
            ]
            if etype == "incollection":
                editors = " and ".join(_name(rng) for _ in range(rng.randint(1, 3)))
                fields += [
                    ("booktitle", "{Handbook of {R}apid-{A}cting {A}ntidepressants}"),
                    ("editor", "{" + editors + "}"),
                    ("pages", f"{{{rng.randint(1, 400)}--{rng.randint(401, 800)}}}"),
                ]
            else:
                fields.append(("isbn", f"{{978-0-00-{rng.randint(100000, 999999)}-{i % 10}}}"))
        elif etype == "inproceedings":
            fields += [
                ("booktitle", f"{{Proceedings of the {rng.randint(10, 40)}th {{ECNP}} Congress}}"),
                ("year", f"{{{year}}}"),
                ("pages", f"{{S{rng.randint(1, 900)}}}"),
            ]
        elif etype == "phdthesis":
            fields += [("school", "{University of Oslo}"), ("year", f"{{{year}}}")]
        else:
            fields += [
                ("howpublished", f"{{\\url{{https://example.org/report/{i}}}}}"),
                ("year", f"{{{year}}}"),
            ]
        doi = f"10.5555/bench.{seed}.{i:06d}"
        fields.append(("doi", f"{{{doi}}}"))
        if rng.random() < 0.7:
            fields.append(("url", f"{{https://doi.org/{doi}}}"))
        if etype == "article" and rng.random() < 0.6:
            fields.append(("issn", f"{{{rng.randint(1000, 9999)}-{rng.randint(100, 999)}X}}"))
        if rng.random() < 0.5:
            fields.append(("language", "{english}"))
        if rng.random() < 0.7:
            fields.append(("pmid", f"{{{90000000 + i}}}"))
        if rng.random() < 0.40:
            sentences = rng.sample(SENTENCES, rng.randint(2, 5))
            fields.append(("abstract", "{" + " ".join(sentences) + "}"))
        fields.append(("keywords", "{" + "; ".join(rng.sample(KEYWORDS, rng.randint(2, 6))) + "}"))
        if rng.random() < 0.25:
            extra, rows = _outcome_fields(rng, cond)
            fields += extra
            with_outcomes += 1
            outcome_rows += rows
        if rng.random() < 0.35:
            fields.append(("affiliation", "{" + rng.choice(AFFILIATIONS) + "}"))
        if rng.random() < 0.15:
            fields.append(("note", "{" + rng.choice(NOTES) + "}"))
        if rng.random() < 0.5:
            fields.append(("groups", "{" + ", ".join(rng.sample(GROUPS, rng.randint(1, 3))) + "}"))
        if rng.random() < 0.2:
            fields.append(("file", f"{{:papers/{key}.pdf:PDF}}"))
        fields.append(("timestamp", f"{{{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-01}}"))
        body = ",\n".join(f"  {k} = {v}" for k, v in fields)
        out.append(f"@{etype}{{{key},\n{body},\n}}\n\n")
    text = "".join(out)
    path.write_text(text, encoding="utf-8", newline="\n")
    return Generated(path, n_entries, with_outcomes, outcome_rows, path.stat().st_size)


# --------------------------------------------------------------------------- timing


@dataclass
class Series:
    name: str
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)


def clear_evidence_caches() -> int:
    """Empty every ``functools`` cache in the loaded ``evidence`` modules; return how many.

    Each run must pay for the whole file, as a fresh ``evidence`` process would: with warm
    caches (e.g. an ``lru_cache`` on LaTeX decoding) the second load of the same file is much
    faster than the first, which would flatter (b) after round 1.
    """
    seen: set[int] = set()
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "evidence" or name.startswith("evidence.")):
            continue
        for obj in list(vars(module).values()):
            clear = getattr(obj, "cache_clear", None)
            if callable(clear) and id(obj) not in seen:
                seen.add(id(obj))
                clear()
    return len(seen)


def _timed(fn: Callable[[], Any], clear_caches: bool = True) -> tuple[float, Any]:
    if clear_caches:
        clear_evidence_caches()
    gc.collect()
    t0 = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t0
    return elapsed, result


def _stage_timings(base: Any) -> Mapping[str, float] | None:
    for attr in ("timings", "stage_times"):
        value = getattr(base, attr, None)
        if isinstance(value, Mapping) and value:
            return value
    return None


def _import_load() -> tuple[Callable[[str], Any] | None, str]:
    try:
        module = importlib.import_module("evidence")
    except ImportError as exc:
        return None, f"`import evidence` failed ({exc})"
    load = getattr(module, "load", None)
    if load is None:
        return None, "evidence.load does not exist yet"
    return load, ""


def _import_read_bib() -> Callable[[str], Any] | None:
    try:
        return importlib.import_module("evidence.bib").read_bib
    except (ImportError, AttributeError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=10_000, help="entries to generate")
    parser.add_argument("--repeat", type=int, default=5, help="interleaved timing rounds")
    parser.add_argument("--seed", type=int, default=20240611, help="generator seed")
    parser.add_argument("--keep", type=Path, help="also copy the generated file here")
    parser.add_argument(
        "--no-warmup", action="store_true", help="skip the untimed warm-up on a small file"
    )
    parser.add_argument(
        "--keep-caches",
        action="store_true",
        help="do not empty evidence's functools caches before each run (measures warm loads)",
    )
    args = parser.parse_args(argv)
    if args.entries < 1 or args.repeat < 1:
        parser.error("--entries and --repeat must be at least 1")

    load, why_not = _import_load()
    read_bib = _import_read_bib()

    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as tmp:
        path = Path(tmp) / "studies.bib"
        t0 = time.perf_counter()
        gen = generate(path, args.entries, args.seed)
        gen_s = time.perf_counter() - t0
        if args.keep:
            args.keep.write_bytes(path.read_bytes())
        print(f"python {sys.version.split()[0]}, bibtexparser {bibtexparser.__version__}")
        print(
            f"generated {gen.entries} entries ({gen.with_outcome_fields} with outcome fields, "
            f"{gen.outcome_rows} outcome rows) in {gen_s:.2f} s"
        )
        print(f"file size: {gen.size:,} bytes ({gen.size / 1e6:.2f} MB)  {path}")
        if args.keep:
            print(f"kept a copy at {args.keep}")
        if load is None:
            print(f"NOTE: {why_not}; timing only (a) bare bibtexparser.parse_file.")

        bare = Series("(a) bibtexparser.parse_file")
        full = Series("(b) evidence.load + .studies + .outcomes")
        reader = Series("    evidence.bib.read_bib (lossless reader)")
        stages: dict[str, list[float]] = {}
        load_error: str | None = None
        p = str(path)
        clear = not args.keep_caches

        def run_bare() -> None:
            elapsed, lib = _timed(lambda: bibtexparser.parse_file(p), clear)
            if len(lib.entries) != gen.entries or lib.failed_blocks:
                raise SystemExit(
                    f"bare parse returned {len(lib.entries)} entries and "
                    f"{len(lib.failed_blocks)} failed blocks (expected {gen.entries}, 0)"
                )
            bare.times.append(elapsed)

        def run_full() -> None:
            nonlocal load_error
            assert load is not None

            def work() -> Any:
                base = load(p)
                return base, base.studies, base.outcomes

            try:
                elapsed, (base, studies, outcomes) = _timed(work, clear)
            except Exception as exc:  # report and carry on timing (a)
                load_error = f"{type(exc).__name__}: {exc}"
                problems = getattr(exc, "problems", None)
                if problems:
                    load_error += "".join(f"\n    {pr}" for pr in problems[:5])
                return
            if not full.times:
                print(
                    f"evidence.load: studies {getattr(studies, 'shape', '?')}, "
                    f"outcomes {getattr(outcomes, 'shape', '?')}"
                )
                problems = list(getattr(base, "problems", None) or [])
                if problems:  # the generated file is meant to be valid: show what was flagged
                    print(f"evidence.load reported {len(problems)} problem(s), e.g.:")
                    for pr in problems[:5]:
                        print(f"    {pr}")
            full.times.append(elapsed)
            timings = _stage_timings(base)
            if timings:
                for name, seconds in timings.items():
                    stages.setdefault(str(name), []).append(float(seconds))

        def run_reader() -> None:
            assert read_bib is not None
            elapsed, _doc = _timed(lambda: read_bib(p), clear)
            reader.times.append(elapsed)

        runs = [run_bare]
        if load is not None:
            runs.append(run_full)
        if read_bib is not None:
            runs.append(run_reader)
        if not args.no_warmup:
            # untimed runs on a small file so lazy imports and first-call costs are paid first
            small = Path(tmp) / "warmup.bib"
            generate(small, 200, args.seed + 1)
            ws = str(small)
            bibtexparser.parse_file(ws)
            if load is not None:
                try:
                    base = load(ws)
                    _ = base.studies, base.outcomes
                except Exception as exc:  # reported again by the timed runs
                    print(f"warm-up: evidence.load failed: {type(exc).__name__}: {exc}")
            if read_bib is not None:
                read_bib(ws)
            print("warm-up: one untimed run of each on a 200-entry file")
        if clear:
            n_caches = clear_evidence_caches()
            print(f"emptying {n_caches} evidence cache(s) before every run (--keep-caches: don't)")
        for rnd in range(args.repeat):
            order = runs if rnd % 2 == 0 else runs[::-1]
            for run in order:
                if run is run_full and load_error is not None:
                    continue
                run()
            gc.collect()
            done = ", ".join(
                f"{s.name.split()[0]} {s.times[-1]:.3f} s"
                for s in (bare, full, reader)
                if len(s.times) == rnd + 1
            )
            print(f"round {rnd + 1}/{args.repeat}: {done}")

    print()
    print(f"{'':44} {'median':>9} {'min':>9}   (seconds, {args.repeat} rounds)")
    for s in (bare, full):
        if s.times:
            print(f"{s.name:44} {s.median:9.3f} {s.best:9.3f}")
    if reader.times or stages:
        print("per-stage figures:")
        if reader.times:
            ratio_r = reader.median / bare.median
            print(f"{reader.name:44} {reader.median:9.3f} {reader.best:9.3f}   {ratio_r:.2f}x (a)")
        for name, values in stages.items():
            print(f"    {name:40} {statistics.median(values):9.3f} {min(values):9.3f}")
    else:
        print("per-stage figures: none available yet")
    if load_error is not None:
        print(f"NOTE: evidence.load failed, (b) not timed: {load_error}")
    if full.times:
        ratio = full.median / bare.median
        verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
        print(
            f"ratio median(b)/median(a) = {ratio:.2f}x -> {verdict} the target of "
            f"<= {TARGET_RATIO}x"
        )
    else:
        print(f"ratio median(b)/median(a): n/a ((b) not timed; target <= {TARGET_RATIO}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
