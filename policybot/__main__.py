from policybot.entry import main

if __name__ == "__main__":  # parser worker processes may import this module: they must not run the bot
    raise SystemExit(main())
