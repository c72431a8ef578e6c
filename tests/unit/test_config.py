from server.config import DEFAULT_MODEL, load_settings


def test_defaults():
    settings, warnings = load_settings(None, {})
    assert settings.model == DEFAULT_MODEL == "openai/gpt-oss-120b"
    assert settings.provider == "groq" and settings.context_window == 32768
    assert warnings == []


def test_environment_then_initialization_options():
    env = {"GROQ_API_KEY": "gsk-env", "STEPFORGE_MODEL": "env-model", "STEPFORGE_CONCURRENCY": "3"}
    settings, warnings = load_settings({"model": "opt-model"}, env)
    assert settings.model == "opt-model"
    assert settings.concurrency == 3
    assert settings.api_key_value() == "gsk-env"
    assert warnings == []


def test_openai_compatible_provider_ignores_groq_variables():
    env = {
        "STEPFORGE_PROVIDER": "openai-compatible",
        "STEPFORGE_BASE_URL": "http://127.0.0.1:11434/v1/",
        "GROQ_BASE_URL": "http://groq.example",
        "GROQ_API_KEY": "gsk-x",
    }
    settings, _ = load_settings(None, env)
    assert settings.provider == "openai-compatible"
    assert settings.base_url == "http://127.0.0.1:11434/v1"
    assert settings.api_key is None


def test_invalid_values_warn_and_fall_back_to_defaults():
    settings, warnings = load_settings(
        {"concurrency": "many", "contextWindow": 10, "colour": "blue", "model": "m"}, {}
    )
    assert settings.concurrency == 4 and settings.context_window == 32768 and settings.model == "m"
    assert any("concurrency='many'" in w and "default 4" in w for w in warnings)
    assert any("contextWindow=10" in w for w in warnings)
    assert any("'colour'" in w for w in warnings)


def test_the_api_key_never_prints():
    settings, warnings = load_settings({"apiKey": "gsk-secret-value-123"}, {})
    assert "gsk-secret-value-123" not in repr(settings) and "gsk-secret-value-123" not in str(
        settings
    )
    _, warnings = load_settings({"apiKey": 42}, {})
    assert all("42" not in w for w in warnings)


def test_container_settings_parse_from_text():
    env = {
        "STEPFORGE_CONTAINER_ENV": '{"HTTPS_PROXY": "http://proxy:3128"}',
        "STEPFORGE_CONTAINER_MOUNTS": "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt",
    }
    settings, warnings = load_settings(None, env)
    assert settings.container_env == {"HTTPS_PROXY": "http://proxy:3128"}
    assert settings.container_mounts == [
        "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt"
    ]
    _, warnings = load_settings({"containerMounts": ["relative:/x"]}, {})
    assert any("HOST_PATH:CONTAINER_PATH" in w for w in warnings)
