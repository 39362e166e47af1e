from trialdesk.accounts.access import get_access


def membership(request):
    """Template context: the user's access (roles, blinding) for menus."""
    if not hasattr(request, "user"):
        return {}
    return {"access": get_access(request)}
