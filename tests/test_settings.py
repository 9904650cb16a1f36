"""Settings: command line > environment > ini > default, parsing, and errors naming their origin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from hookproof.errors import UsageError
from hookproof.reach.settings import DERIVED_FIELDS, OPTIONS, Option, Settings, resolve_settings

TARGET = {"target_url": "https://hooks.example.com/varda", "provider": "varda"}


def resolve(
    cli: Mapping[str, Any] | None = None,
    ini: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve with fake getters: ``cli``/``ini`` map an option's dest to its raw value."""
    cli = dict(cli or {})
    ini = dict(ini or {})

    def from_cli(option: Option) -> Any:
        return cli.get(option.dest)

    def from_ini(option: Option) -> Any:
        return ini.get(option.dest)

    return resolve_settings(from_cli, from_ini, dict(env or {}))


def usage_error(**kwargs: Any) -> str:
    with pytest.raises(UsageError) as info:
        resolve(**kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_defaults_without_anything() -> None:
    settings = resolve()
    assert settings == Settings(expect={}, hook_urls={}, signing_urls={})
    assert not settings.active
    assert settings.secret_env == "HOOKPROOF_SECRET"
    assert settings.reports_dir == "reports"
    assert settings.concurrency == 5
    assert settings.strict is False and settings.insecure is False
    assert settings.budget is None and settings.events == ()


def test_every_option_has_a_distinct_flag_ini_and_env() -> None:
    for attribute in ("dest", "flag", "ini"):
        values = [getattr(o, attribute) for o in OPTIONS]
        assert len(values) == len(set(values)), attribute
    envs = [o.env for o in OPTIONS if o.env]
    assert len(envs) == len(set(envs))
    assert all(o.flag.startswith("--") for o in OPTIONS)
    assert set(Settings.__dataclass_fields__) - set(DERIVED_FIELDS) == {o.dest for o in OPTIONS}


@pytest.mark.parametrize(
    ("dest", "env_name", "cli_value", "env_value", "ini_value", "parsed"),
    [
        ("budget", "HOOKPROOF_BUDGET", "1.5", "2.5", "3.5", (1.5, 2.5, 3.5)),
        ("concurrency", "HOOKPROOF_CONCURRENCY", "7", "8", "9", (7, 8, 9)),
        ("reports_dir", "HOOKPROOF_REPORTS", "cli-dir", "env-dir", "ini-dir",
         ("cli-dir", "env-dir", "ini-dir")),
        ("secret_env", "HOOKPROOF_SECRET_ENV", "CLI_VAR", "ENV_VAR", "INI_VAR",
         ("CLI_VAR", "ENV_VAR", "INI_VAR")),
        ("events", "HOOKPROOF_EVENTS", ["a", "b"], "c,d", ["e"],
         (("a", "b"), ("c", "d"), ("e",))),
        ("method", "HOOKPROOF_METHOD", "get", "POST", "get", ("GET", "POST", "GET")),
    ],
)
def test_precedence_cli_over_env_over_ini_over_default(
    dest: str, env_name: str, cli_value: Any, env_value: str, ini_value: Any,
    parsed: tuple[Any, Any, Any],
) -> None:
    everything = {"cli": {dest: cli_value}, "env": {env_name: env_value},
                  "ini": {dest: ini_value}}
    assert getattr(resolve(**everything), dest) == parsed[0]
    assert getattr(resolve(env=everything["env"], ini=everything["ini"]), dest) == parsed[1]
    assert getattr(resolve(ini=everything["ini"]), dest) == parsed[2]
    default = next(o.default for o in OPTIONS if o.dest == dest)
    assert getattr(resolve(), dest) == (() if dest == "events" else default)


def test_bool_precedence_and_empty_environment_falls_through_to_ini() -> None:
    assert resolve(cli={"strict": True}, env={"HOOKPROOF_STRICT": "no"}).strict is True
    assert resolve(env={"HOOKPROOF_STRICT": "no"}, ini={"strict": "true"}).strict is False
    # an empty environment variable counts as unset: the ini value applies
    assert resolve(env={"HOOKPROOF_STRICT": ""}, ini={"strict": "true"}).strict is True
    assert resolve(ini={"strict": "true"}).strict is True


def test_baseline_update_has_no_environment_variable() -> None:
    option = next(o for o in OPTIONS if o.dest == "baseline_update")
    assert option.env is None
    settings = resolve(ini={"baseline_update": "true", "baseline": "known.json"})
    assert settings.baseline_update is True and settings.baseline == "known.json"


@pytest.mark.parametrize("text", ["1", "true", "TRUE", "yes", "on", " On "])
def test_bool_true_words(text: str) -> None:
    assert resolve(env={"HOOKPROOF_INSECURE": text}).insecure is True


@pytest.mark.parametrize("text", ["0", "false", "no", "off", "False"])
def test_bool_false_words(text: str) -> None:
    assert resolve(env={"HOOKPROOF_INSECURE": text}).insecure is False


def test_bool_error_names_environment_variable() -> None:
    message = usage_error(env={"HOOKPROOF_STRICT": "maybe"})
    assert message == ("--hookproof-strict (from environment variable HOOKPROOF_STRICT): "
                       "'maybe' is not true or false")


def test_float_error_names_environment_variable() -> None:
    message = usage_error(env={"HOOKPROOF_BUDGET": "fast"})
    assert message == ("--hookproof-budget (from environment variable HOOKPROOF_BUDGET): "
                       "'fast' is not a number")


def test_float_error_names_command_line() -> None:
    message = usage_error(cli={"budget": "soon"}, env={"HOOKPROOF_BUDGET": "1"})
    assert "from command line --hookproof-budget" in message
    assert "'soon' is not a number" in message


def test_int_error_names_ini_option() -> None:
    message = usage_error(ini={"concurrency": "2.5"})
    assert message == ("--hookproof-concurrency (from ini option hookproof_concurrency): "
                       "'2.5' is not a whole number")


@pytest.mark.parametrize(("dest", "raw"), [("budget", "0"), ("budget", "-1"),
                                           ("concurrency", "0")])
def test_numbers_must_be_positive(dest: str, raw: str) -> None:
    message = usage_error(cli={dest: raw})
    assert "must be greater than 0" in message and "from command line" in message


def test_float_parsing() -> None:
    assert resolve(env={"HOOKPROOF_BUDGET": " 0.25 "}).budget == 0.25
    assert resolve(cli={"concurrency": "12"}).concurrency == 12


def test_method_choice_error() -> None:
    message = usage_error(env={"HOOKPROOF_METHOD": "put"})
    assert "--method (from environment variable HOOKPROOF_METHOD)" in message
    assert "GET, POST" in message


@pytest.mark.parametrize(
    ("where", "raw"),
    [
        ("cli", ["a", "b,c"]),
        ("env", "a, b ,,c"),
        ("env", "a\nb\n\nc\n"),
        ("ini", ["a", "b", "c"]),
        ("ini", "a,b,c"),
    ],
)
def test_list_parsing(where: str, raw: Any) -> None:
    if where == "env":
        settings = resolve(env={"HOOKPROOF_EVENTS": raw})
    else:
        settings = resolve(**{where: {"events": raw}})
    assert settings.events == ("a", "b", "c")


def test_expect_single_and_multiple_classes() -> None:
    settings = resolve(cli={"expect": ["conversation.created=4xx", "call.ended=2xx,4xx",
                                       "call.started=2XX|4xx"]})
    assert settings.expect == {
        "conversation.created": frozenset({"4xx"}),
        "call.ended": frozenset({"2xx", "4xx"}),
        "call.started": frozenset({"2xx", "4xx"}),
    }


def test_expect_from_environment_and_ini() -> None:
    from_env = resolve(env={"HOOKPROOF_EXPECT": "a=2xx,4xx,b=4xx"})
    assert from_env.expect == {"a": frozenset({"2xx", "4xx"}), "b": frozenset({"4xx"})}
    from_env_lines = resolve(env={"HOOKPROOF_EXPECT": "a=2xx,4xx\nb=4xx"})
    assert from_env_lines.expect == from_env.expect
    from_ini = resolve(ini={"expect": ["a=2xx,4xx", "b=4xx"]})
    assert from_ini.expect == from_env.expect


def test_expect_bad_status_names_origin() -> None:
    message = usage_error(env={"HOOKPROOF_EXPECT": "a=5xx"})
    assert "--expect (from environment variable HOOKPROOF_EXPECT)" in message
    assert "'5xx'" in message


def test_expect_not_a_pair_names_origin() -> None:
    message = usage_error(ini={"expect": ["just-an-event"]})
    assert message == ("--expect (from ini option hookproof_expect): 'just-an-event' is not "
                       "NAME=VALUE")


def test_hook_url_repeated_on_command_line() -> None:
    settings = resolve(cli={"hook_urls": ["crm=https://h.example/callbacks/crm",
                                          "outgoing=https://h.example/out?a=1,2"]})
    assert settings.hook_urls == {"crm": "https://h.example/callbacks/crm",
                                  "outgoing": "https://h.example/out?a=1,2"}


@pytest.mark.parametrize("separator", [",", "\n", ", ", "\n\n"])
def test_hook_urls_from_environment(separator: str) -> None:
    raw = separator.join(["crm=https://h.example/crm", "templates=http://h.example/t"])
    settings = resolve(env={"HOOKPROOF_HOOK_URLS": raw})
    assert settings.hook_urls == {"crm": "https://h.example/crm",
                                  "templates": "http://h.example/t"}


def test_hook_urls_from_ini_lines() -> None:
    settings = resolve(ini={"hook_urls": ["crm = https://h.example/crm",
                                          "routing=https://h.example/r"]})
    assert settings.hook_urls == {"crm": "https://h.example/crm",
                                  "routing": "https://h.example/r"}


def test_hook_url_cli_overrides_environment() -> None:
    settings = resolve(cli={"hook_urls": ["crm=https://cli.example/crm"]},
                       env={"HOOKPROOF_HOOK_URLS": "crm=https://env.example/crm"})
    assert settings.hook_urls == {"crm": "https://cli.example/crm"}


def test_hook_url_bad_url_names_origin() -> None:
    message = usage_error(env={"HOOKPROOF_HOOK_URLS": "crm=ftp://h.example/crm"})
    assert message == ("--hook-url (from environment variable HOOKPROOF_HOOK_URLS): "
                       "'ftp://h.example/crm' is not an http:// or https:// URL")


def test_hook_url_without_group_names_origin() -> None:
    message = usage_error(cli={"hook_urls": ["https://h.example/crm"]})
    assert "--hook-url (from command line --hook-url)" in message
    assert "is not NAME=VALUE" in message


@pytest.mark.parametrize("url", ["hooks.example.com/varda", "ftp://hooks.example.com/x",
                                 "http://", "not a url"])
def test_bad_target_url(url: str) -> None:
    message = usage_error(cli={"target_url": url, "provider": "varda"})
    assert message.startswith("--target-url (from command line --target-url): ")
    assert "is not an http:// or https:// URL" in message


def test_bad_urls_name_their_origin() -> None:
    message = usage_error(env={**{"HOOKPROOF_TARGET_URL": "https://ok.example/x",
                                  "HOOKPROOF_PROVIDER": "varda"},
                               "HOOKPROOF_EFFECTS_URL": "localhost:9000/effects"})
    assert message.startswith("--effects-url (from environment variable HOOKPROOF_EFFECTS_URL)")
    message = usage_error(cli=TARGET, ini={"signing_url": "/relative"})
    assert message.startswith("--signing-url (from ini option hookproof_signing_url)")


def test_target_url_needs_provider() -> None:
    message = usage_error(cli={"target_url": "https://hooks.example.com/x"})
    assert "--target-url needs --provider" in message


def test_target_url_and_provider_from_environment() -> None:
    settings = resolve(env={"HOOKPROOF_TARGET_URL": "http://127.0.0.1:8000/varda",
                            "HOOKPROOF_PROVIDER": "varda"})
    assert settings.active
    assert settings.target_url == "http://127.0.0.1:8000/varda"
    assert settings.provider == "varda"


def test_baseline_update_needs_baseline() -> None:
    message = usage_error(cli={"baseline_update": True})
    assert "--hookproof-baseline-update needs --hookproof-baseline" in message
    assert resolve(cli={"baseline_update": True, "baseline": "b.json"}).baseline_update


def test_secret_is_read_from_the_named_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_WEBHOOK_SECRET", "s3cr3t-value")
    assert Settings(secret_env="MY_WEBHOOK_SECRET").secret() == "s3cr3t-value"


def test_secret_unset_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MY_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("HOOKPROOF_SECRET", "the-shared-secret-value")
    with pytest.raises(UsageError) as info:
        Settings(secret_env="MY_WEBHOOK_SECRET").secret()
    message = str(info.value)
    assert "MY_WEBHOOK_SECRET" in message and "unset" in message
    assert "the-shared-secret-value" not in message
    assert "--secret-env" in message


def test_secret_empty_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKPROOF_SECRET", "")
    monkeypatch.setenv("OTHER_SECRET", "do-not-show-me")
    with pytest.raises(UsageError) as info:
        Settings().secret()
    message = str(info.value)
    assert "environment variable HOOKPROOF_SECRET is empty" in message
    assert "do-not-show-me" not in message


def test_signing_url_takes_a_base_and_one_url_per_hook_group() -> None:
    settings = resolve(cli={"signing_url": ["https://public.example.com/hooks",
                                            "crm=https://public.example.com/callbacks/crm"]})
    assert settings.signing_url == "https://public.example.com/hooks"
    assert settings.signing_urls == {"crm": "https://public.example.com/callbacks/crm"}
    from_env = resolve(env={"HOOKPROOF_SIGNING_URL":
                            "crm=https://p.example.com/c,outgoing=https://p.example.com/o"})
    assert from_env.signing_url is None
    assert from_env.signing_urls == {"crm": "https://p.example.com/c",
                                     "outgoing": "https://p.example.com/o"}


def test_signing_url_errors_name_where_they_came_from() -> None:
    assert "give one URL" in usage_error(cli={"signing_url": ["https://a.example.com",
                                                               "https://b.example.com"]})
    message = usage_error(env={"HOOKPROOF_SIGNING_URL": "crm=ftp://x"})
    assert "environment variable HOOKPROOF_SIGNING_URL" in message


def test_effects_wait_and_no_forwarded() -> None:
    assert resolve().effects_wait == 2.0 and resolve().no_forwarded is False
    settings = resolve(cli={"effects_wait": "0", "no_forwarded": True})
    assert settings.effects_wait == 0 and settings.no_forwarded is True
    assert "is not a number" in usage_error(env={"HOOKPROOF_EFFECTS_WAIT": "soon"})
