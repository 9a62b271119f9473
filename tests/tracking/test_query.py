"""The filter language: parsing (MLflow strings and the extras) and execution on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sweeptrack.core.errors import QueryError
from sweeptrack.tracking import query, query_sql
from sweeptrack.tracking.query import (
    And,
    Comparison,
    Entity,
    Field,
    FilterError,
    InList,
    IsNull,
    Not,
    Op,
    Or,
    OrderKey,
    Summary,
    compile_filter,
    compile_order_by,
    field_column,
    parse_filter,
    parse_order_by,
)
from sweeptrack.tracking.query_sql import like_to_glob
from sweeptrack.tracking.sql import schema

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def metric(key: str, summary: Summary = Summary.LAST) -> Field:
    return Field(Entity.METRIC, key, summary)


def param(key: str) -> Field:
    return Field(Entity.PARAM, key)


def tag(key: str) -> Field:
    return Field(Entity.TAG, key)


def attr(key: str) -> Field:
    return Field(Entity.ATTRIBUTE, key)


@pytest.mark.parametrize("module", [query, query_sql])
def test_all_is_sorted_and_complete(module: object) -> None:
    names = module.__all__  # type: ignore[attr-defined]
    # isort-style, as ruff keeps it: CONSTANTS, then Classes, then functions
    assert names == sorted(names, key=lambda name: (not name.isupper(), not name[0].isupper(), name))
    assert all(hasattr(module, name) for name in names)
    assert set(query_sql.__all__) - {"CaseSensitiveLike", "like_to_glob"} <= set(query.__all__)


# -- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'metrics.`f1 score` >= 0.5 AND params.model LIKE "GPT%"',
            And((Comparison(metric("f1 score"), Op.GE, 0.5), Comparison(param("model"), Op.LIKE, "GPT%"))),
        ),
        ("tags.`mlflow.parentRunId` = 'abc'", Comparison(tag("mlflow.parentRunId"), Op.EQ, "abc")),
        ("attributes.run_id IN ('a1','b2')", InList(attr("run_id"), ("a1", "b2"))),
        ('datasets.context = "train"', Comparison(Field(Entity.DATASET, "context"), Op.EQ, "train")),
        ('params.batch_size = "2"', Comparison(param("batch_size"), Op.EQ, "2")),
        ('params.x != "None"', Comparison(param("x"), Op.NE, "None")),
        ("tags.team ILIKE '%vis%'", Comparison(tag("team"), Op.ILIKE, "%vis%")),
        ("attributes.start_time >= 1700000000000", Comparison(attr("start_time"), Op.GE, 1700000000000)),
        ("created < 5", Comparison(attr("start_time"), Op.LT, 5)),
        ("Created < 5", Comparison(attr("start_time"), Op.LT, 5)),
        ("`run name` = 'a'", Comparison(attr("run_name"), Op.EQ, "a")),
        ("\"Run name\" = 'a'", Comparison(attr("run_name"), Op.EQ, "a")),
        ("`Run Name` = 'a'", Comparison(attr("run_name"), Op.EQ, "a")),
        ("attributes.run_name != 'a'", Comparison(attr("run_name"), Op.NE, "a")),
        ("status = 'FINISHED'", Comparison(attr("status"), Op.EQ, "finished")),
        ("datasets.name NOT IN ('a', 'b')", InList(Field(Entity.DATASET, "name"), ("a", "b"), negated=True)),
        (
            "metrics.acc > 0.9 and params.lr = '0.01' AnD tags.x = 'y'",
            And(
                (
                    Comparison(metric("acc"), Op.GT, 0.9),
                    Comparison(param("lr"), Op.EQ, "0.01"),
                    Comparison(tag("x"), Op.EQ, "y"),
                )
            ),
        ),
    ],
)
def test_mlflow_filter_strings_parse_unchanged(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("alias", "entity"),
    [
        *[(a, Entity.METRIC) for a in ("metric", "metrics", "METRICS")],
        *[(a, Entity.PARAM) for a in ("param", "params", "parameter", "parameters")],
        *[(a, Entity.TAG) for a in ("tag", "tags")],
        *[(a, Entity.DATASET) for a in ("dataset", "datasets")],
    ],
)
def test_entity_aliases(alias: str, entity: Entity) -> None:
    node = parse_filter(f"{alias}.name is null")
    assert node == IsNull(Field(entity, "name", Summary.LAST if entity is Entity.METRIC else None))


@pytest.mark.parametrize("alias", ["attribute", "attributes", "attr", "run"])
def test_attribute_aliases_and_no_entity(alias: str) -> None:
    assert parse_filter(f"{alias}.status = 'running'") == parse_filter("status = 'running'")
    assert parse_filter(f"{alias}.id = 'x'") == Comparison(attr("run_id"), Op.EQ, "x")


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("metrics.loss", metric("loss")),
        ("metrics.loss.last", metric("loss")),
        ("metrics.loss.min", metric("loss", Summary.MIN)),
        ("metrics.loss.MAX", metric("loss", Summary.MAX)),
        ("metrics.loss.count", metric("loss", Summary.COUNT)),
        ("metrics.train.loss", metric("train.loss")),
        ("metrics.train.loss.min", metric("train.loss", Summary.MIN)),
        ("metrics.`val.loss`.max", metric("val.loss", Summary.MAX)),
        ("metrics.`loss.min`", metric("loss.min")),
        ("metrics.count", metric("count")),
        ("params.optimizer.lr", param("optimizer.lr")),
    ],
)
def test_dotted_names_and_summaries(text: str, field: Field) -> None:
    assert parse_filter(f"{text} > 1") == Comparison(field, Op.GT, 1)


@pytest.mark.parametrize(
    ("literal", "value"),
    [("1e-3", 0.001), ("-2", -2), (".5", 0.5), ("3.", 3.0), ("+7", 7), ("1.5E+2", 150.0)],
)
def test_number_literals(literal: str, value: float) -> None:
    node = parse_filter(f"metrics.x < {literal}")
    assert isinstance(node, Comparison) and node.value == value and type(node.value) is type(value)


def test_quoted_strings_double_their_quote_to_contain_it() -> None:
    assert parse_filter("tags.note = 'it''s'") == Comparison(tag("note"), Op.EQ, "it's")
    assert parse_filter('tags.`a``b` = "say ""hi"""') == Comparison(tag("a`b"), Op.EQ, 'say "hi"')


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_no_filter(text: str | None) -> None:
    assert parse_filter(text) is None


def test_precedence_not_and_or() -> None:
    a, b, c = (Comparison(tag(k), Op.EQ, "1") for k in "abc")
    assert parse_filter("tags.a = '1' or tags.b = '1' and tags.c = '1'") == Or((a, And((b, c))))
    assert parse_filter("(tags.a = '1' or tags.b = '1') and tags.c = '1'") == And((Or((a, b)), c))
    assert parse_filter("not tags.a = '1' and tags.b = '1'") == And((Not(a), b))
    assert parse_filter("not (tags.a = '1' or tags.b = '1')") == Not(Or((a, b)))
    assert parse_filter("NOT NOT tags.a = '1' OR tags.b = '1'") == Or((Not(Not(a)), b))


def test_in_is_null_and_like_extras() -> None:
    assert parse_filter("metrics.acc in (1, 2.5)") == InList(metric("acc"), (1, 2.5))
    assert parse_filter("params.lr NOT IN (1e-3)") == InList(param("lr"), (0.001,), negated=True)
    assert parse_filter("tags.x is null") == IsNull(tag("x"))
    assert parse_filter("end_time IS NOT NULL") == IsNull(attr("end_time"), negated=True)
    assert parse_filter("name not like 'a%'") == Comparison(attr("run_name"), Op.NOT_LIKE, "a%")
    assert parse_filter("name NOT ILIKE 'a%'") == Comparison(attr("run_name"), Op.NOT_ILIKE, "a%")
    assert parse_filter("status in ('Running', 'PRUNED')") == InList(attr("status"), ("running", "pruned"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "metrics.acc AN 2",
            r"^filter error at column 13 near 'AN': expected a comparison operator "
            r"\(=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS\)$",
        ),
        (
            "metrics.acc > 1 AN params.x = 'a'",
            r"column 17 near 'AN': expected AND, OR or the end of the filter",
        ),
        ("(metrics.acc > 1 AN", r"column 18 near 'AN': expected AND, OR or '\)'"),
        ("metrics.acc > 1 & tags.x = 'y'", r"column 17 near '&': expected AND, OR or the end"),
        ("metrics.acc >", r"at the end \(column 14\): expected a value"),
        ("metrics.acc > 1 and", r"at the end \(column 20\): expected a field"),
        ("tags.x = 'abc", r"column 10 near \"'abc\": unterminated quoted string"),
        ("tags.`abc = 'x'", r"column 6 .*unterminated quoted key"),
        ("tags.x in 'a'", r"column 11 near \"'a'\": expected '\(' to start the list"),
        ("tags.x is 'a'", r"column 11 .*expected NULL or NOT NULL"),
        ("tags.x not = 'a'", r"column 12 near '=': expected IN, LIKE or ILIKE after NOT"),
        ("metrics. > 1", r"column 10 near '>': expected a name"),
        ("foo = 'x'", r"column 1 near 'foo': unknown attribute 'foo'; attributes are run_id, run_name"),
        ("attributes.user_id = 'x'", r"column 1 .*unknown attribute 'user_id'"),
        ("params.lr.max > 1", r"column 11 near 'max': '.max' picks a metric summary.*params.`lr.max`"),
        ("tags.`x`.min = 'a'", r"column 10 near 'min': '.min' picks a metric summary"),
        ("status.last = 'x'", r"column 8 near 'last'"),
        ("datasets.size = 'x'", r"column 10 near 'size': unknown dataset field"),
        ("metrics.acc < 'high'", r"column 15 near \"'high'\": metrics.acc is a number"),
        ("metrics.acc LIKE '1%'", r"metrics.acc is a number"),
        ("metrics.acc.max LIKE 5", r"column 17 near 'LIKE': LIKE needs a 'quoted' pattern"),
        ("params.lr < '1e-3'", r"column 11 near '<': '<' compares numbers"),
        ("tags.x = 5", r"column 10 near '5': tags.x is a string: quote the value"),
        ("run_name in (1, 2)", r"column 14 near '1': run_name is a string"),
        ("start_time > '2024'", r"column 14 .*start_time is a number"),
        ("params.x in (1, 'a')", r"column 17 near \"'a'\": an IN list holds only strings or only numbers"),
        ("status = 'SCHEDULED'", r"column 10 .*unknown status 'SCHEDULED'; use one of running, finished"),
        ("tags.x like 'a\\'", r"column 13 .*LIKE pattern ends with the escape character"),
        ("tags.x = 'a'\n  and tags.y = 'b' or", r"^filter error at the end \(column 22\)"),
        ("tags.x = 'a'\n  AN tags.y = 'b'", r"^filter error at line 2, column 3 near 'AN'"),
    ],
)
def test_bad_filters_name_the_token_and_column(text: str, match: str) -> None:
    with pytest.raises(QueryError, match=match) as info:
        parse_filter(text)
    assert "\n" not in str(info.value)


def test_filter_error_carries_position_and_caret() -> None:
    with pytest.raises(FilterError) as info:
        parse_filter("metrics.acc > 1 AN x")
    assert (info.value.line, info.value.column) == (1, 17)
    assert info.value.caret == "metrics.acc > 1 AN x\n                ^"


def test_field_str_parses_back() -> None:
    fields = [
        metric("val loss", Summary.MAX),
        metric("train.loss"),
        param("lr"),
        tag("mlflow.parentRunId"),
        attr("start_time"),
        Field(Entity.DATASET, "context"),
    ]
    for field in fields:
        node = parse_filter(f"{field} is null")
        assert node == IsNull(field)


def test_parse_order_by() -> None:
    assert parse_order_by(None) == []
    assert parse_order_by("") == []
    assert parse_order_by("metrics.val_f1 DESC") == [OrderKey(metric("val_f1"), descending=True)]
    assert parse_order_by("params.lr, start_time asc, metrics.`a,b`.min desc") == [
        OrderKey(param("lr")),
        OrderKey(attr("start_time")),
        OrderKey(metric("a,b", Summary.MIN), descending=True),
    ]
    assert parse_order_by(["created DESC", "tags.team"]) == [
        OrderKey(attr("start_time"), descending=True),
        OrderKey(tag("team")),
    ]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("metrics.acc downward", r"^order-by error at column 13 near 'downward': expected ASC, DESC, ','"),
        ("metrics.acc desc,", r"^order-by error at the end \(column 18\): expected a name"),
        ("bogus desc", r"^order-by error at column 1 near 'bogus': unknown attribute"),
    ],
)
def test_bad_order_by(text: str, match: str) -> None:
    with pytest.raises(QueryError, match=match):
        parse_order_by(text)


def test_hand_built_ast_is_checked_when_compiled() -> None:
    with pytest.raises(QueryError, match="unknown attribute 'bogus'"):
        compile_filter(Comparison(attr("bogus"), Op.EQ, "x"))
    with pytest.raises(QueryError, match=r"metrics\.acc holds numbers"):
        compile_filter(Comparison(metric("acc"), Op.EQ, "x"))
    with pytest.raises(QueryError, match="only strings or only numbers"):
        compile_filter(InList(param("x"), ("a", 1)))


@pytest.mark.parametrize(
    ("like", "glob"),
    [
        ("GPT%", "GPT*"),
        ("a_c", "a?c"),
        ("50\\%", "50%"),
        ("a\\_b", "a_b"),
        ("*?[x]", "[*][?][[]x]"),
        ("\\\\", "\\"),
    ],
)
def test_like_to_glob(like: str, glob: str) -> None:
    assert like_to_glob(like) == glob


# -- execution ---------------------------------------------------------------------------------------

SWEEP = "5eed" + "0" * 28
RUNS = [
    # id, uuid, name, status, start, end, experiment, sweep, trial
    (1, "a1" + "0" * 30, "alpha", "finished", 1000, 2000, 1, 1, 0),
    (2, "b2" + "0" * 30, "beta", "finished", 2000, 3000, 1, 1, 1),
    (3, "c3" + "0" * 30, "Gamma", "failed", 3000, 3500, 2, None, None),
    (4, "d4" + "0" * 30, "delta", "running", 4000, None, 2, None, None),
    (5, "e5" + "0" * 30, "Alpha-2", "killed", 5000, 5100, 1, None, None),
]
PARAMS = [
    # run, key, kind, text, number
    (1, "lr", "float", "0.001", 0.001),
    (1, "model", "str", "GPT-2", None),
    (1, "batch_size", "int", "32", 32.0),
    (1, "opt.momentum", "float", "0.9", 0.9),
    (1, "use_bn", "bool", "true", 1.0),
    (2, "lr", "float", "0.0001", 0.0001),
    (2, "model", "str", "gpt-3", None),
    (2, "batch_size", "int", "64", 64.0),
    (3, "lr", "str", "auto", None),
    (3, "model", "str", "BERT", None),
    (3, "batch_size", "str", "2", None),
    (4, "lr", "float", "nan", None),
    (4, "model", "str", "GPT_%", None),
    (5, "model", "str", "GP*T?", None),
    (5, "batch_size", "int", "2", 2.0),
]
TAGS = [
    (1, "keep", "yes"),
    (1, "team", "vision"),
    (2, "keep", "no"),
    (3, "team", "NLP"),
    (4, "mlflow.parentRunId", "abc"),
]
SUMMARIES = [
    # run, key, last, min, max, count (None: NaN)
    (1, "val_f1", 0.95, 0.5, 0.95, 10),
    (1, "loss", 0.1, 0.05, 2.0, 10),
    (1, "f1 score", 0.6, 0.6, 0.6, 1),
    (1, "train.loss", 0.3, 0.3, 0.3, 1),
    (2, "val_f1", 0.85, 0.4, 0.92, 5),
    (2, "loss", None, None, None, 3),
    (3, "val_f1", 0.2, 0.1, 0.3, 2),
    (3, "loss", 5.0, 1.0, 5.0, 2),
    (5, "val_f1", 0.91, 0.91, 0.91, 1),
]
DATASETS = [
    # run, name, digest, context
    (1, "mnist", "d1", "train"),
    (1, "mnist-test", "d2", "eval"),
    (2, "cifar", "d3", "train"),
    (3, "imagenet", "d4", None),
]
ALL = {"alpha", "beta", "Gamma", "delta", "Alpha-2"}


def rows(columns: str, values: Sequence[tuple[object, ...]]) -> list[dict[str, object]]:
    return [dict(zip(columns.split(), row, strict=True)) for row in values]


def populate(engine: Engine) -> None:
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            schema.experiments.insert(),
            [{"id": 1, "name": "exp-a", "created_at": 0}, {"id": 2, "name": "exp-b", "created_at": 0}],
        )
        conn.execute(
            schema.sweeps.insert(),
            [{"id": 1, "uuid": SWEEP, "experiment_id": 1, "name": "s", "state": "done", "created_at": 0}],
        )
        run_columns = "id uuid name status start_time end_time experiment_id sweep_id trial_number"
        conn.execute(schema.runs.insert(), rows(run_columns, RUNS))
        conn.execute(schema.params.insert(), rows("run_id key kind value value_num", PARAMS))
        conn.execute(schema.tags.insert(), rows("run_id key value", TAGS))
        conn.execute(
            schema.metric_summaries.insert(),
            [
                {**row, "last_step": 0, "last_timestamp": 0}
                for row in rows("run_id key last min max count", SUMMARIES)
            ],
        )
        conn.execute(
            schema.datasets.insert(),
            [
                {"run_id": run, "name": name, "digest": digest, "context": context, "source": "s3://x"}
                for run, name, digest, context in DATASETS
            ],
        )


def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = sa.create_engine(f"sqlite:///{tmp_path_factory.mktemp('query') / 'tracking.db'}")
    yield engine
    engine.dispose()


def postgres_engine() -> Iterator[Engine]:
    url = os.environ.get("TEST_DATABASE_URL", POSTGRES_URL)
    name = f"st_q_{secrets.token_hex(6)}"
    admin = sa.create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {name}"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL at {url} is not reachable: {exc.orig}")
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={name}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engines = sqlite_engine(tmp_path_factory) if request.param == "sqlite" else postgres_engine()
    engine = next(engines)
    populate(engine)
    yield engine
    next(engines, None)


def names(engine: Engine, text: str) -> set[str]:
    stmt = sa.select(schema.runs.c.name).where(compile_filter(parse_filter(text)))
    with engine.connect() as conn:
        return set(conn.scalars(stmt))


def ordered(engine: Engine, order: str | list[str]) -> list[str]:
    stmt = sa.select(schema.runs.c.name).order_by(*compile_order_by(parse_order_by(order)), schema.runs.c.id)
    with engine.connect() as conn:
        return list(conn.scalars(stmt))


CASES = [
    # metrics: last by default, summaries, NaN (NULL) never satisfies an ordering comparison
    ("metrics.val_f1 > 0.9", {"alpha", "Alpha-2"}),
    ("metrics.val_f1.last > 0.9", {"alpha", "Alpha-2"}),
    ("metrics.val_f1.max > 0.9", {"alpha", "beta", "Alpha-2"}),
    ("metrics.val_f1.min <= 0.4", {"beta", "Gamma"}),
    ("metrics.val_f1.count >= 5", {"alpha", "beta"}),
    ("metrics.loss > 0", {"alpha", "Gamma"}),
    ("metrics.loss < 100", {"alpha", "Gamma"}),
    ("metrics.loss.max >= -1", {"alpha", "Gamma"}),
    ("metrics.loss != 0.1", {"beta", "Gamma"}),
    ("metrics.loss is null", {"delta", "Alpha-2"}),
    ("metrics.loss is not null", {"alpha", "beta", "Gamma"}),
    ("metrics.`f1 score` >= 0.5", {"alpha"}),
    ("metrics.train.loss = 0.3", {"alpha"}),
    ("metrics.val_f1 in (0.95, 0.2)", {"alpha", "Gamma"}),
    ("metrics.val_f1 not in (0.95, 0.2)", {"beta", "Alpha-2"}),
    # params: numbers compare the numeric copy, strings the text (as MLflow)
    ("params.lr < 1e-3", {"beta"}),
    ("params.lr <= 1e-3", {"alpha", "beta"}),
    ("params.lr = '0.001'", {"alpha"}),
    ("params.lr = 'auto'", {"Gamma"}),
    ("params.lr != 0.001", {"beta", "Gamma", "delta"}),
    ("params.batch_size = '2'", {"Gamma", "Alpha-2"}),
    ("params.batch_size = 2", {"Alpha-2"}),
    ("params.batch_size > 10", {"alpha", "beta"}),
    ("params.batch_size in (32, 64)", {"alpha", "beta"}),
    ("params.batch_size in ('32', '2')", {"alpha", "Gamma", "Alpha-2"}),
    ("params.batch_size not in ('32', '2')", {"beta"}),
    ("params.`opt.momentum` = 0.9", {"alpha"}),
    ("params.opt.momentum > 0.5", {"alpha"}),
    ("params.use_bn = 'true' and params.use_bn = 1", {"alpha"}),
    ("params.missing is null", ALL),
    ("params.lr is null", {"Alpha-2"}),
    ("params.lr is not null", ALL - {"Alpha-2"}),
    # LIKE is case-sensitive on every backend, ILIKE is not; \ escapes the wildcards
    ("params.model LIKE 'GPT%'", {"alpha", "delta"}),
    ("params.model ILIKE 'gpt%'", {"alpha", "beta", "delta"}),
    ("params.model LIKE '%t%'", {"beta"}),
    ("params.model LIKE 'GPT\\_\\%'", {"delta"}),
    ("params.model LIKE 'GP*%'", {"Alpha-2"}),
    ("params.model LIKE 'GP_T?'", {"Alpha-2"}),
    ("params.model LIKE 'GPT[%'", set()),
    ("params.model NOT LIKE 'GPT%'", {"beta", "Gamma", "Alpha-2"}),
    ("params.model NOT ILIKE 'gpt%'", {"Gamma", "Alpha-2"}),
    # tags
    ("tags.keep = 'yes'", {"alpha"}),
    ("tags.keep != 'yes'", {"beta"}),
    ("not tags.keep = 'yes'", ALL - {"alpha"}),
    ("tags.team in ('vision', 'NLP')", {"alpha", "Gamma"}),
    ("tags.team not in ('vision')", {"Gamma"}),
    ("tags.team ILIKE 'nlp'", {"Gamma"}),
    ("tags.team LIKE 'nlp'", set()),
    ("tags.`mlflow.parentRunId` = 'abc'", {"delta"}),
    # attributes
    ("status = 'FINISHED'", {"alpha", "beta"}),
    ("status = 'finished'", {"alpha", "beta"}),
    ("attributes.status != 'finished'", {"Gamma", "delta", "Alpha-2"}),
    ("status in ('FAILED', 'killed')", {"Gamma", "Alpha-2"}),
    ("status LIKE 'FIN%'", {"alpha", "beta"}),
    ("run_name = 'alpha'", {"alpha"}),
    ("name LIKE 'alpha%'", {"alpha"}),
    ("name ILIKE 'alpha%'", {"alpha", "Alpha-2"}),
    ("`Run name` = 'Gamma'", {"Gamma"}),
    (f"attributes.run_id IN ('{RUNS[0][1]}', '{RUNS[2][1]}')", {"alpha", "Gamma"}),
    (f"id = '{RUNS[1][1]}'", {"beta"}),
    ("start_time >= 3000", {"Gamma", "delta", "Alpha-2"}),
    ("created < 2000", {"alpha"}),
    ("start_time > 1500.5", ALL - {"alpha"}),
    ("end_time is null", {"delta"}),
    ("end_time != 2000", {"beta", "Gamma", "Alpha-2"}),
    ("not end_time > 2500", {"alpha", "delta"}),
    ("experiment = 'exp-b'", {"Gamma", "delta"}),
    ("experiment_name like 'exp-%'", ALL),
    (f"sweep_id = '{SWEEP}'", {"alpha", "beta"}),
    ("sweep_id is null", {"Gamma", "delta", "Alpha-2"}),
    ("trial_number = 1", {"beta"}),
    ("trial_number in (0, 1)", {"alpha", "beta"}),
    # datasets: a condition matches when one of the run's datasets does
    ("datasets.name = 'mnist'", {"alpha"}),
    ("datasets.context = 'train'", {"alpha", "beta"}),
    ('datasets.context = "eval"', {"alpha"}),
    ("datasets.digest in ('d3', 'd4')", {"beta", "Gamma"}),
    ("datasets.context is null", {"Gamma", "delta", "Alpha-2"}),
    ("datasets.name is null", {"delta", "Alpha-2"}),
    ("datasets.name like 'mnist%' and datasets.context = 'eval'", {"alpha"}),
    # combinations
    (
        "params.lr <= 1e-3 and (metrics.val_f1 > 0.9 or tags.keep = 'no') and status = 'finished'",
        {"alpha", "beta"},
    ),
    ("status = 'failed' or status = 'killed' and metrics.val_f1 > 0.5", {"Gamma", "Alpha-2"}),
    ("(status = 'failed' or status = 'killed') and metrics.val_f1 > 0.5", {"Alpha-2"}),
    ("not (tags.team = 'vision' or metrics.loss > 1)", {"beta", "delta", "Alpha-2"}),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[case[0] for case in CASES])
def test_filter_selects_runs(db: Engine, text: str, expected: set[str]) -> None:
    assert names(db, text) == expected


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[case[0] for case in CASES])
def test_not_selects_exactly_the_other_runs(db: Engine, text: str, expected: set[str]) -> None:
    assert names(db, f"not ({text})") == ALL - expected


def test_no_filter_selects_every_run(db: Engine) -> None:
    stmt = sa.select(schema.runs.c.name).where(compile_filter(None))
    with db.connect() as conn:
        assert set(conn.scalars(stmt)) == ALL


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("metrics.val_f1 DESC", ["alpha", "Alpha-2", "beta", "Gamma", "delta"]),
        ("metrics.val_f1", ["Gamma", "beta", "Alpha-2", "alpha", "delta"]),
        ("metrics.loss desc", ["Gamma", "alpha", "beta", "delta", "Alpha-2"]),
        ("metrics.val_f1.max asc", ["Gamma", "Alpha-2", "beta", "alpha", "delta"]),
        ("params.lr", ["beta", "alpha", "Gamma", "delta", "Alpha-2"]),
        ("params.lr desc", ["alpha", "beta", "delta", "Gamma", "Alpha-2"]),
        (["start_time desc"], ["Alpha-2", "delta", "Gamma", "beta", "alpha"]),
        ("experiment desc, created", ["Gamma", "delta", "alpha", "beta", "Alpha-2"]),
        ("tags.team", ["Gamma", "alpha", "beta", "delta", "Alpha-2"]),
        ("end_time desc", ["Alpha-2", "Gamma", "beta", "alpha", "delta"]),
    ],
)
def test_order_by_puts_missing_values_last(db: Engine, order: str | list[str], expected: list[str]) -> None:
    assert ordered(db, order) == expected


def test_field_column_reads_one_value_per_run(db: Engine) -> None:
    stmt = sa.select(
        schema.runs.c.name,
        field_column(metric("val_f1", Summary.MAX)),
        field_column(param("model")),
        field_column(attr("experiment")),
        field_column(Field(Entity.DATASET, "name")),
    )
    with db.connect() as conn:
        rows = {row[0]: tuple(row[1:]) for row in conn.execute(stmt)}
    assert rows["alpha"] == (0.95, "GPT-2", "exp-a", "mnist")
    assert rows["delta"] == (None, "GPT_%", "exp-b", None)


def test_like_patterns_are_bound_not_cached_into_sql(db: Engine) -> None:
    # Same statement shape, different patterns: the compiled-statement cache must not mix them up.
    assert names(db, "params.model LIKE 'GPT%'") == {"alpha", "delta"}
    assert names(db, "params.model LIKE 'BE%'") == {"Gamma"}
    assert names(db, "params.model NOT LIKE 'BE%'") == ALL - {"Gamma"}


def test_values_are_bound_parameters(db: Engine) -> None:
    hostile = "x'); DROP TABLE runs; --"
    assert names(db, f"tags.keep = '{hostile.replace(chr(39), chr(39) * 2)}'") == set()
    assert names(db, "status = 'finished'") == {"alpha", "beta"}
