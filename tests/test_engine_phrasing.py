from timepoint.world.phrasing import about, as_spoken_by


def test_holder_speaks_in_first_person():
    assert as_spoken_by("He could let the bill pass.", "James Madison", "James Madison") == (
        "I could let the bill pass."
    )
    assert as_spoken_by("His plan assumes the debts.", "A H", "A H") == "my plan assumes the debts."
    assert as_spoken_by("Hamilton stopped him in the street.", "T J", "T J") == (
        "Hamilton stopped me in the street."
    )


def test_others_name_the_holder():
    assert as_spoken_by("He could let it pass.", "James Madison", "Thomas Jefferson") == (
        "Madison could let it pass."
    )
    assert about("His plan assumes the debts.", "Alexander Hamilton") == (
        "Hamilton's plan assumes the debts."
    )
    assert about("Hamilton begged him for help.", "Thomas Jefferson") == (
        "Hamilton begged Jefferson for help."
    )
    assert about("Virginia paid its debt.", None) == "Virginia paid its debt."
