from policybot.cli import main

raise SystemExit(main())
