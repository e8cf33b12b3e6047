from s2sbench.cli import main

main()
