"""Support for the tests: factories, fakes, receivers, worker helpers and the API checker."""
