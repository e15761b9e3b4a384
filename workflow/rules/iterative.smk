# Fig. 5: the synchronous iterative nets. Their experiments train through the
# ordinary rules (data.smk, train.smk); Fig. 5 is drawn in figures.smk, and their
# claims are rows of the claims table (report.smk, backprop86.claims.iterative).

# Fig. 5 needs a shift register.
ITERATIVE_TARGETS = (
    ["results/figures/fig5.png"] if "shift_register" in FIRST_OF_TASK else []
)
