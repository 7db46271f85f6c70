"""The shipped sample data (a generated event log, a users file and the example campaigns), packaged as
``campaign_connector.sample_data`` so that ``campaign-connector demo`` finds it after a plain ``pip install .``."""
