from detectors.cli import main

raise SystemExit(main())
