from keraslab.cli import main

main()
