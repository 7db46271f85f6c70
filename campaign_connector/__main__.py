from campaign_connector.cli import main

main()
