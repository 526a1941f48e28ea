def applies(f):
    return False


def steps(f, x, disp):
    raise NotImplementedError
