"""What the tests share besides the fixtures of conftest.py: helper modules, loopback servers and the child
processes some tests start (`python -m ycpipeline_tests.support.<worker>`). No tests here."""
