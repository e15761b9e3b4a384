from backprop86.io import job_log

with job_log(snakemake.log[0]):
    from backprop86.figures import check_family_dataset, fig2, save

    save(*fig2(check_family_dataset(snakemake.input[0])), snakemake.output.png)
