from condor_nb.cli.main import main

main()
