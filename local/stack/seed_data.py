"""Seed the local stack's S3 (moto) with starting datasets, built by the project's own dataset code.

`python local/stack/seed_data.py --artifact-root s3://llm-platform-artifacts` (AWS_ENDPOINT_URL points at
moto) creates the bucket and writes:

* `<root>/datasets/viggo/seed-500/` and `<root>/datasets/viggo/curated-100/`: the dataset versions the
  DAG params default to, built from a generated VIGGO-style sample by
  `llm_workloads.airflow_tasks.data_update.normalise_join_dedupe` (the data-update DAG's own step);
* `<root>/benchmarks/viggo/` version 1 (`llm_workloads.benchmark`): the model line's frozen benchmark, frozen
  from seed-500's test split (about 50 items: enough for the retrain's decision rule; curated-100's test
  split, which a first deployment would otherwise freeze, has about 10);
* `<root>/drops/viggo/team-drop.jsonl`: a JSONL drop with good records and a few bad lines, for the
  data-update DAG's S3 source.

The sample is generated from fixed templates with a fixed seed, so every start seeds the same bytes.
It is not VIGGO data (that stays outside the repository); its sentences only resemble it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator

from llm_workloads import benchmark, storage
from llm_workloads.airflow_tasks.data_update import normalise_join_dedupe
from llm_workloads.records import make_record
from llm_workloads.sources import source_row

GAMES = (
    "Portal 2", "Half-Life 2", "The Witcher 3", "Stardew Valley", "Celeste", "Hollow Knight", "Hades",
    "Civilization V", "Age of Empires II", "StarCraft II", "Diablo III", "Minecraft", "Terraria",
    "Rocket League", "Overwatch", "Dota 2", "Fallout 4", "Skyrim", "Mass Effect 2", "BioShock",
    "Dark Souls", "Bloodborne", "Halo 3", "Gears of War", "Forza Horizon 4", "Spore", "SimCity 4",
    "The Sims 3", "Little Big Adventure", "Tomb Raider", "Assassin's Creed II", "Far Cry 3", "Doom",
    "Quake III Arena", "Max Payne", "Limbo", "Inside", "Braid", "Fez", "Journey",
)  # fmt: skip
GENRES = ("action", "adventure", "role-playing", "strategy", "puzzle", "platformer", "shooter", "simulation")
PLATFORMS = ("PC", "PlayStation", "Xbox", "Nintendo Switch")
RATINGS = ("poor", "average", "good", "excellent")
YEARS = tuple(str(y) for y in range(1995, 2021))
DEVELOPERS = ("Valve", "Nintendo", "Ubisoft", "Blizzard Entertainment", "Bethesda", "BioWare", "Maxis")


def _pick(rng: random.Random, items: tuple[str, ...]) -> str:
    return items[rng.randrange(len(items))]


def _example(rng: random.Random) -> tuple[str, str]:
    """One (sentence, representation) pair from a template chosen at random."""
    name, genre, platform = _pick(rng, GAMES), _pick(rng, GENRES), _pick(rng, PLATFORMS)
    rating, year, developer = _pick(rng, RATINGS), _pick(rng, YEARS), _pick(rng, DEVELOPERS)
    yes_no = _pick(rng, ("yes", "no"))
    templates = (
        (
            f"{name} is a {genre} game from {year} that you can play on {platform}.",
            f"inform(name[{name}], release_year[{year}], genres[{genre}], platforms[{platform}])",
        ),
        (f"I think {name} is a rather {rating} game.", f"give_opinion(name[{name}], rating[{rating}])"),
        (
            f"Is {name} available on Steam?"
            if yes_no == "yes"
            else f"Am I right that {name} is not on Steam?",
            f"verify_attribute(name[{name}], available_on_steam[{yes_no}])",
        ),
        (
            f"Do you enjoy {genre} games on {platform}?",
            f"request(genres[{genre}], platforms[{platform}])",
        ),
        (f"Who developed {name}?", f"request_attribute(name[{name}], developer[])"),
        (
            f"You mean {name}, the game {developer} released in {year}?",
            f"confirm(name[{name}], release_year[{year}], developer[{developer}])",
        ),
        (
            f"Have you tried {name}? It is a {rating} {genre} game.",
            f"suggest(name[{name}], rating[{rating}], genres[{genre}])",
        ),
        (
            f"If you like {genre} games with multiplayer, {name} on {platform} is worth a look.",
            f"recommend(name[{name}], genres[{genre}], has_multiplayer[yes], platforms[{platform}])",
        ),
        (
            f"What makes {genre} games by {developer} so {rating} in your opinion?",
            f"request_explanation(developer[{developer}], genres[{genre}], rating[{rating}])",
        ),
    )
    return templates[rng.randrange(len(templates))]


def sample(count: int, seed: int) -> Iterator[tuple[str, str]]:
    """`count` distinct (sentence, representation) pairs."""
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < count:
        sentence, label = _example(rng)
        if sentence.lower() not in seen:
            seen.add(sentence.lower())
            yield sentence, label


def source_rows(pairs: list[tuple[str, str]], tag: str) -> list[dict[str, object]]:
    return [
        source_row("s3", f"{tag}-{i:04d}", text=text, label=label, origin=f"generated sample {tag}")
        for i, (text, label) in enumerate(pairs)
    ]


def drop_lines(pairs: list[tuple[str, str]]) -> str:
    """A team's JSONL drop: chat records, plus the kinds of bad lines real drops contain."""
    good = [{**make_record(text, label), "id": f"drop-{i:03d}"} for i, (text, label) in enumerate(pairs)]
    lines = [json.dumps(row, sort_keys=True) for row in good]
    lines.insert(2, '{"messages": "not a list"}')
    lines.insert(5, "this line is not JSON")
    bad_label = make_record("Is Braid a puzzle game on PC?", "verify_attribute(name[Braid], genres[puzzle]")
    lines.append(json.dumps({**bad_label, "id": "drop-bad-label"}, sort_keys=True))
    return "\n".join(lines) + "\n"


def seed(artifact_root: str) -> dict[str, object]:
    import boto3

    bucket = storage.parse_s3(artifact_root).bucket
    boto3.client("s3").create_bucket(Bucket=bucket)
    pairs = list(sample(540, seed=20240501))
    staging = storage.join(artifact_root, "seed", "sources")
    datasets: dict[str, object] = {}
    for version, rows in (("seed-500", pairs[:500]), ("curated-100", pairs[:100])):
        uri = storage.join(staging, f"{version}.jsonl")
        storage.write_jsonl(uri, source_rows(rows, version))
        built = normalise_join_dedupe([uri], storage.join(artifact_root, "datasets", "viggo"), version)
        datasets[version] = {k: built[k] for k in ("dataset_uri", "count", "rejected_count")}
    test_uri = storage.join(str(datasets["seed-500"]["dataset_uri"]), "test.jsonl")  # type: ignore[index]
    frozen = benchmark.freeze(
        storage.join(artifact_root, "benchmarks", "viggo"),
        [(test_uri, storage.read_text(test_uri))],
        "local stack: the seed-500 test split",
        created_at="2026-01-01T00:00:00Z",
    )
    drop = storage.join(artifact_root, "drops", "viggo", "team-drop.jsonl")
    storage.write_text(drop, drop_lines(pairs[500:]), "application/x-ndjson")
    return {
        "bucket": bucket,
        "datasets": datasets,
        "drop": drop,
        "benchmark": {k: frozen[k] for k in ("version", "items", "meaning_groups", "sha256")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seed_data.py", description=__doc__.splitlines()[0])
    parser.add_argument("--artifact-root", required=True, help="s3://bucket of the platform's artefacts")
    args = parser.parse_args(argv)
    if not storage.is_s3(args.artifact_root):
        parser.error(f"--artifact-root {args.artifact_root!r}: must be an s3:// URI")
    print(json.dumps(seed(args.artifact_root), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
