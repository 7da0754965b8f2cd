from timepoint.scenario.schema import Scenario
from timepoint.synthesis.population import roster_with_generated


def test_generated_entities_only_take_kinds_the_animism_level_admits():
    scenario = Scenario(
        id="pitch",
        title="Pitch",
        description="A pitch.",
        entities={"count": 6, "kinds": ["human", "abstract", "animal"], "animism": 1},
    )
    kinds = {entry.kind.value for entry in roster_with_generated(scenario)}
    assert kinds == {"human", "animal"}
