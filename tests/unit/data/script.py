# %% tags=["parameters"]
alpha = 1

# %%
print(alpha)
