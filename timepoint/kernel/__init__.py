"""What every mechanism is handed: the world state of a run, the run context with its model
gateway, mechanism settings, concurrent fan-out and progress events. It sits above the records,
the LLM layer and scenarios, and below the mechanisms and the engine that orchestrates them."""
