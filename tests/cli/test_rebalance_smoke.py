from tests.conftest import EXAMPLES, run_cli


def test_example_household_plans_on_bundled_prices():
    result = run_cli(
        [
            "rebalance",
            EXAMPLES / "household.toml",
            "--holdings",
            EXAMPLES / "holdings.csv",
            "--prices",
            "sp500",
            "--json",
        ]
    )
    assert result.code == 0, result.stderr
    out = result.json()
    assert out["as_of"] == "2022-12-28"
    assert abs(sum(out["weights_after"].values()) - 1) < 1e-9
