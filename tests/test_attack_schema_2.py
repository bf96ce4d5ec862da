"""Every operation of the OpenAPI document, fuzzed with a tenant admin's and the app admin's
token, never answers 500 and every answer conforms to the document or is a problem body:
shard 2 of helpers.schema_fuzz.SHARDS, a file each so that xdist spreads them."""

import pytest

from helpers.schema_fuzz import shard_test

pytestmark = pytest.mark.usefixtures("server")

test_operations_survive_fuzzing_as_both_admins_shard_2 = shard_test(2)
